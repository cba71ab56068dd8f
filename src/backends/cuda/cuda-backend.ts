import { bytesPerElement, type DType, type TypedArray } from '../../dtype.js';
import { DeviceError } from '../../errors.js';
import { reducedShape, sizeOf, type Shape } from '../../shape.js';
import type {
  ArgReduceOp, Backend, BatchNormBackwardResult, BatchNormForwardResult, BinaryOp, DeviceName, RandomParams, ReduceOp,
  Storage, TensorRef, UnaryOp, UpdateParams, UpdateRule, WindowGeom,
} from '../backend.js';
import { addonErrorCode, type AddonMemory, type NativeAddon } from './addon.js';
import { ARG_CODE, BINARY_CODE, RANDOM_CODE, REDUCE_CODE, UNARY_CODE, UPDATE_CODE, UPDATE_STATES } from './codes.js';
import { CudaStorage } from './storage.js';
import { ParamBlock } from '../params.js';
import { compositeConvKernels } from '../conv-composite.js';

type Ref = TensorRef | Storage;

function rowsCols(x: TensorRef): [number, number] {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  return [cols === 0 ? 0 : sizeOf(x.shape) / cols, cols];
}

/**
 * The Backend contract on top of the CUDA addon's N-API surface: every kernel is one `launch`
 * with its output buffers first, then its inputs, and a flat parameter list. The same class runs
 * over the host build of the kernels (native/cuda built for the CPU), which is how CI tests it.
 */
export class CudaBackend implements Backend {
  private bytes = 0;
  private readonly block = new ParamBlock(new Float64Array(65536));

  constructor(
    private readonly addon: NativeAddon,
    readonly name: DeviceName,
    readonly description: string,
  ) {}

  supportsDType(_d: DType): boolean {
    return true;
  }

  /** Allocator statistics of the native side (live, cached and peak bytes, cudaMalloc count). */
  memoryInfo(): AddonMemory {
    return this.native('memoryInfo', () => this.addon.memoryInfo());
  }

  /** Wait for all enqueued work; surfaces asynchronous device faults. */
  synchronize(): void {
    this.native('synchronize', () => this.addon.synchronize());
  }

  // ---- memory ----

  upload(data: TypedArray): Storage {
    const s = this.alloc(data.length, dtypeOf(data));
    this.native('upload', () => this.addon.upload(s.handle, data));
    return s;
  }
  async read(s: Storage): Promise<TypedArray> {
    const st = this.st(s, 'read');
    let buf: ArrayBuffer;
    try {
      buf = await this.addon.download(st.handle, st.bytes);
    } catch (e) {
      throw this.wrapError('read', e);
    }
    return st.dtype === 'float32' ? new Float32Array(buf) : st.dtype === 'float64' ? new Float64Array(buf) : new Int32Array(buf);
  }
  readSync(_s: Storage): TypedArray | null {
    return null;
  }
  dispose(s: Storage): void {
    const st = this.st(s, 'dispose');
    this.native('dispose', () => this.addon.free(st.handle));
    this.bytes -= st.bytes;
  }
  flush(): void {}
  liveBytes(): number {
    return this.bytes;
  }

  // ---- creation / conversion ----

  fill(length: number, value: number, dtype: DType): Storage {
    const out = this.alloc(length, dtype);
    return this.run('fill', [out], this.params().dtype(dtype).num(length, value));
  }
  cast(x: TensorRef, dtype: DType): Storage {
    const n = sizeOf(x.shape);
    const out = this.alloc(n, dtype);
    return this.run('cast', [out, x], this.params().dtype(x.dtype).dtype(dtype).num(n));
  }
  random(length: number, dtype: DType, p: RandomParams): Storage {
    const out = this.alloc(length, dtype);
    const params = this.params().dtype(dtype).num(length, RANDOM_CODE[p.kind], p.seedLo >>> 0, p.seedHi >>> 0, p.stream >>> 0);
    return this.run('random', [out], params.num(p.offset, p.a, p.b));
  }

  // ---- elementwise ----

  unary(op: UnaryOp, x: TensorRef, alpha: number): Storage {
    const n = sizeOf(x.shape);
    const out = this.alloc(n, x.dtype);
    return this.run('unary', [out, x], this.params().num(UNARY_CODE[op]).dtype(x.dtype).num(n, alpha ?? 0));
  }
  binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    const out = this.alloc(sizeOf(outShape), a.dtype);
    const p = this.params().num(BINARY_CODE[op]).dtype(a.dtype).list(a.shape).list(b.shape).list(outShape);
    return this.run('binary', [out, a, b], p);
  }
  binaryScalar(op: BinaryOp, x: TensorRef, s: number, scalarLeft: boolean): Storage {
    const n = sizeOf(x.shape);
    const out = this.alloc(n, x.dtype);
    return this.run('binaryScalar', [out, x], this.params().num(BINARY_CODE[op]).dtype(x.dtype).num(n, s, scalarLeft ? 1 : 0));
  }
  where(cond: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): Storage {
    const out = this.alloc(sizeOf(outShape), a.dtype);
    const p = this.params().dtype(a.dtype).dtype(cond.dtype).list(cond.shape).list(a.shape).list(b.shape).list(outShape);
    return this.run('where', [out, cond, a, b], p);
  }

  // ---- reductions ----

  reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): Storage {
    const out = this.alloc(sizeOf(reducedShape(x.shape, axes)), x.dtype);
    return this.run('reduce', [out, x], this.params().num(REDUCE_CODE[op]).dtype(x.dtype).list(x.shape).list(axes));
  }
  argReduce(op: ArgReduceOp, x: TensorRef, axis: number): Storage {
    const out = this.alloc(sizeOf(reducedShape(x.shape, [axis])), 'int32');
    return this.run('argReduce', [out, x], this.params().num(ARG_CODE[op]).dtype(x.dtype).list(x.shape).num(axis));
  }

  // ---- layout ----

  permute(x: TensorRef, perm: readonly number[]): Storage {
    const out = this.alloc(sizeOf(x.shape), x.dtype);
    return this.run('permute', [out, x], this.params().dtype(x.dtype).list(x.shape).list(perm));
  }
  broadcastTo(x: TensorRef, outShape: Shape): Storage {
    const out = this.alloc(sizeOf(outShape), x.dtype);
    return this.run('broadcastTo', [out, x], this.params().dtype(x.dtype).list(x.shape).list(outShape));
  }
  slice(x: TensorRef, begin: readonly number[], size: readonly number[]): Storage {
    const out = this.alloc(sizeOf(size), x.dtype);
    return this.run('slice', [out, x], this.params().dtype(x.dtype).list(x.shape).list(begin).list(size));
  }
  pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): Storage {
    const out = this.alloc(sizeOf(x.shape.map((d, i) => d + before[i]! + after[i]!)), x.dtype);
    return this.run('pad', [out, x], this.params().dtype(x.dtype).list(x.shape).list(before).list(after).num(value));
  }
  concat(xs: readonly TensorRef[], axis: number): Storage {
    const first = xs[0]!;
    const total = xs.reduce((s, t) => s + sizeOf(t.shape), 0);
    const out = this.alloc(total, first.dtype);
    const p = this.params().dtype(first.dtype).num(axis, xs.length);
    for (const t of xs) p.list(t.shape);
    return this.run('concat', [out, ...xs], p);
  }

  // ---- linear algebra ----

  matmul(a: TensorRef, b: TensorRef, transA: boolean, transB: boolean, outShape: Shape): Storage {
    const out = this.alloc(sizeOf(outShape), a.dtype);
    const p = this.params().dtype(a.dtype).num(transA ? 1 : 0, transB ? 1 : 0).list(a.shape).list(b.shape).list(outShape);
    return this.run('matmul', [out, a, b], p);
  }

  // ---- convolution ----

  im2col(x: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(g.n * g.c * g.kh * g.kw * g.oh * g.ow, x.dtype);
    return this.run('im2col', [out, x], this.params().dtype(x.dtype).geom(g));
  }
  col2im(cols: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(g.n * g.c * g.h * g.w, cols.dtype);
    return this.run('col2im', [out, cols], this.params().dtype(cols.dtype).geom(g));
  }
  // Convolution: the composite over this backend's own im2col/matmul/col2im/reduce kernels.
  readonly conv2d = compositeConvKernels.conv2d;
  readonly conv2dBackwardInput = compositeConvKernels.conv2dBackwardInput;
  readonly conv2dBackwardWeight = compositeConvKernels.conv2dBackwardWeight;

  // ---- pooling ----

  maxPool2d(x: TensorRef, g: WindowGeom): { out: Storage; idx: Storage } {
    const n = g.n * g.c * g.oh * g.ow;
    const out = this.alloc(n, x.dtype);
    const idx = this.alloc(n, 'int32');
    this.run('maxPool2d', [out, idx, x], this.params().dtype(x.dtype).geom(g));
    return { out, idx };
  }
  maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(g.n * g.c * g.oh * g.ow, x.dtype);
    return this.run('maxPoolGather', [out, x, idx], this.params().dtype(x.dtype).geom(g));
  }
  maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(g.n * g.c * g.h * g.w, gy.dtype);
    return this.run('maxPoolScatter', [out, gy, idx], this.params().dtype(gy.dtype).geom(g));
  }
  avgPool2d(x: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(g.n * g.c * g.oh * g.ow, x.dtype);
    return this.run('avgPool2d', [out, x], this.params().dtype(x.dtype).geom(g));
  }
  avgPool2dBackward(gy: TensorRef, g: WindowGeom): Storage {
    const out = this.alloc(g.n * g.c * g.h * g.w, gy.dtype);
    return this.run('avgPool2dBackward', [out, gy], this.params().dtype(gy.dtype).geom(g));
  }

  // ---- batch norm ----

  batchNormForward(x: TensorRef, gamma: TensorRef, beta: TensorRef, eps: number): BatchNormForwardResult {
    const c = x.shape[1]!;
    const y = this.alloc(sizeOf(x.shape), x.dtype);
    const mean = this.alloc(c, x.dtype);
    const variance = this.alloc(c, x.dtype);
    this.run('batchNormForward', [y, mean, variance, x, gamma, beta], this.params().dtype(x.dtype).list(x.shape).num(eps));
    return { y, mean, variance };
  }
  batchNormBackward(
    x: TensorRef, gy: TensorRef, mean: TensorRef, variance: TensorRef, gamma: TensorRef, eps: number,
  ): BatchNormBackwardResult {
    const c = x.shape[1]!;
    const dx = this.alloc(sizeOf(x.shape), x.dtype);
    const dgamma = this.alloc(c, x.dtype);
    const dbeta = this.alloc(c, x.dtype);
    const p = this.params().dtype(x.dtype).list(x.shape).num(eps);
    this.run('batchNormBackward', [dx, dgamma, dbeta, x, gy, mean, variance, gamma], p);
    return { dx, dgamma, dbeta };
  }

  // ---- softmax family ----

  softmax(x: TensorRef): Storage {
    return this.rowKernel('softmax', x, [x]);
  }
  logSoftmax(x: TensorRef): Storage {
    return this.rowKernel('logSoftmax', x, [x]);
  }
  softmaxHvp(p: TensorRef, v: TensorRef): Storage {
    return this.rowKernel('softmaxHvp', p, [p, v]);
  }
  crossEntropy(logits: TensorRef, labels: TensorRef): Storage {
    const [rows, cols] = rowsCols(logits);
    const out = this.alloc(rows, logits.dtype);
    return this.run('crossEntropy', [out, logits, labels], this.params().dtype(logits.dtype).num(rows, cols));
  }
  softmaxCrossEntropyGrad(logits: TensorRef, labels: TensorRef): Storage {
    return this.rowKernel('softmaxCrossEntropyGrad', logits, [logits, labels]);
  }
  oneHot(labels: TensorRef, classes: number, dtype: DType): Storage {
    const rows = sizeOf(labels.shape);
    const out = this.alloc(rows * classes, dtype);
    return this.run('oneHot', [out, labels], this.params().dtype(dtype).num(rows, classes));
  }

  // ---- optimizers ----

  applyUpdate(rule: UpdateRule, param: Storage, grad: Storage, state: readonly Storage[], p: UpdateParams): void {
    const w = this.st(param, 'applyUpdate');
    if (state.length !== UPDATE_STATES[rule]) {
      throw new DeviceError(`applyUpdate: rule '${rule}' takes ${UPDATE_STATES[rule]} state buffers, got ${state.length}`);
    }
    // Bias corrections and the decoupled-decay factor, computed in double exactly as the cpu backend does.
    const shrink = 1 - p.lr * p.decoupledDecay;
    const c1 = 1 - Math.pow(p.beta1, p.step);
    const c2 = 1 - Math.pow(p.beta2, p.step);
    const params = this.params().num(UPDATE_CODE[rule]).dtype(w.dtype).num(w.length);
    params.num(p.lr, p.momentum, p.beta1, p.beta2, p.eps, p.weightDecay, shrink, c1, c2);
    this.run('applyUpdate', [param, grad, ...state], params);
  }

  // ---- plumbing ----

  private rowKernel(kernel: string, x: TensorRef, inputs: TensorRef[]): Storage {
    const [rows, cols] = rowsCols(x);
    const out = this.alloc(rows * cols, x.dtype);
    return this.run(kernel, [out, ...inputs], this.params().dtype(x.dtype).num(rows, cols));
  }

  private alloc(length: number, dtype: DType): CudaStorage {
    const bytes = length * bytesPerElement(dtype);
    const handle = this.native('alloc', () => this.addon.alloc(bytes));
    this.bytes += bytes;
    return new CudaStorage(this.name, handle, length, dtype, bytes);
  }

  /** Launch `kernel` on buffers (outputs first); returns the first buffer. */
  /** The parameter block of the next launch, empty. */
  private params(): ParamBlock {
    return this.block.reset();
  }

  private run(kernel: string, bufs: Ref[], p: ParamBlock): CudaStorage {
    const handles = new Uint32Array(bufs.length);
    bufs.forEach((b, i) => { handles[i] = this.st(b, kernel).handle; });
    this.native(kernel, () => this.addon.launch(kernel, handles, p.values()));
    return this.st(bufs[0]!, kernel);
  }

  private st(r: Ref, op: string): CudaStorage {
    const s = 'storage' in r ? r.storage : r;
    if (!(s instanceof CudaStorage) || s.device !== this.name) {
      throw new DeviceError(`${op}: expected storage of device '${this.name}', got '${s.device}'`);
    }
    return s;
  }

  private native<T>(op: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.wrapError(op, e);
    }
  }

  private wrapError(op: string, e: unknown): Error {
    if (addonErrorCode(e) === undefined) return e instanceof Error ? e : new Error(String(e));
    return new DeviceError(`${this.name}: ${op}: ${(e as Error).message}`);
  }
}

function dtypeOf(a: TypedArray): DType {
  return a instanceof Float32Array ? 'float32' : a instanceof Float64Array ? 'float64' : 'int32';
}
