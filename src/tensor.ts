import type { DeviceName, Storage, TensorRef } from './backends/backend.js';
import type { DType, TypedArray } from './dtype.js';
import { DataBuffer, engine } from './engine.js';
import { DeviceError, DisposedError, ShapeError, fmtShape } from './errors.js';
import { sizeOf, type Shape } from './shape.js';

/** A recorded operation: how to turn the gradient of its output into gradients of its inputs. */
export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /**
   * Written with differentiable ops, so running it with recording on builds a graph of the gradient.
   * `needs[i]` says whether this grad() call uses the gradient of input i (it leads to a requested
   * input); a rule may return null for the others instead of computing them.
   */
  readonly backward: (gy: Tensor, needs: readonly boolean[]) => (Tensor | null)[];
  /**
   * The same rule for K cotangents at once (a batched vjp, `grad(..., { batched: true })`): `gy` has
   * shape [K, ...output shape] and each returned gradient [K, ...input shape]. The saved forward
   * tensors are shared by all K (broadcast along the leading axis, never copied). Nodes without one
   * run `backward` once per cotangent (correct, K times the dispatches).
   */
  readonly batched?: (gy: Tensor, needs: readonly boolean[]) => (Tensor | null)[];
}

/**
 * A dense n-d array on one device. Immutable: ops return new tensors. Free it with `dispose()` or
 * by creating it inside `tidy()`.
 */
export class Tensor implements TensorRef {
  readonly id: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: DeviceName;
  /** @internal */ buf: DataBuffer | null;
  /** @internal */ node: GradNode | null = null;
  /** True for leaves asked to require a gradient and for results of recorded ops. */
  requiresGrad: boolean;
  /** @internal Host copy of small int32 tensors made from host data (labels), for validation without a device read. */
  hostInts: Int32Array | null = null;

  /** @internal Use the creation functions (`tensor`, `zeros`, ...) instead. */
  constructor(buf: DataBuffer, shape: Shape, dtype: DType, device: DeviceName, requiresGrad = false) {
    this.id = engine.nextId++;
    this.buf = buf;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.device = device;
    this.requiresGrad = requiresGrad;
    engine.track(this);
  }

  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.buf === null;
  }

  /** @internal The storage, or a DisposedError naming the op that wanted it. */
  live(op: string): DataBuffer {
    if (this.buf === null) {
      throw new DisposedError(`${op}: tensor #${this.id} ${fmtShape(this.shape)} ${this.dtype} was used after dispose()`);
    }
    return this.buf;
  }

  get storage(): Storage {
    return this.live('storage').storage;
  }

  /** Copy the values to the host. */
  async data(): Promise<TypedArray> {
    const b = this.live('data');
    return b.backend.read(b.storage);
  }

  /** Synchronous host copy; only for host-memory devices (cpu, native). */
  dataSync(): TypedArray {
    const b = this.live('dataSync');
    const a = b.backend.readSync(b.storage);
    if (a === null) {
      throw new DeviceError(`dataSync: device '${this.device}' cannot be read synchronously; use 'await t.data()'`);
    }
    return a.slice();
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) {
      throw new ShapeError(`item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    }
    return (await this.data())[0]!;
  }

  dispose(): void {
    if (this.buf === null) return;
    this.buf.release();
    this.buf = null;
    // Drop the backward closure (and what it captured) but keep the inputs, so that a later grad()
    // whose path runs through this tensor fails loudly instead of returning zeros.
    if (this.node) this.node = disposedNode(this);
    engine.untrack(this);
  }

  toString(): string {
    return `Tensor#${this.id}(${fmtShape(this.shape)}, ${this.dtype}, ${this.device}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

function disposedNode(t: Tensor): GradNode {
  const { name, inputs } = t.node!;
  const what = `tensor #${t.id} ${fmtShape(t.shape)} (the output of '${name}')`;
  return {
    name,
    inputs,
    backward: () => {
      throw new DisposedError(
        `grad: ${what} was disposed before the backward pass reached it; compute gradients inside the tidy() that built the graph, or keep() its output`,
      );
    },
  };
}
