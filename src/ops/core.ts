/**
 * Plumbing shared by every op: checking inputs, wrapping kernel outputs as tensors, and recording
 * the backward rule when gradients are being tracked.
 */
import type { Backend, DeviceName, Storage } from '../backends/backend.js';
import { DTYPES, type DType } from '../dtype.js';
import { DataBuffer, engine } from '../engine.js';
import { DeviceError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import type { Shape } from '../shape.js';
import type { OpName } from './names.js';
import { Tensor, type GradNode } from '../tensor.js';

export type TensorOrNumber = Tensor | number;

/** Check that every tensor is alive and on one device; return that device's backend. */
export function backendOf(op: string, ...ts: Tensor[]): Backend {
  const first = ts[0]!;
  first.live(op);
  for (const t of ts) {
    t.live(op);
    if (t.device !== first.device) {
      throw new DeviceError(
        `${op}: all inputs must be on one device, got ${ts.map((x) => x.device).join(' and ')} (use toDevice() to move a tensor)`,
      );
    }
  }
  return first.live(op).backend;
}

export function sameDType(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`${op}: inputs must share a dtype, got ${a.dtype} and ${b.dtype} (use cast())`);
  }
}

/** Wrap freshly allocated kernel output as a tensor on `device`. */
export function wrap(backend: Backend, storage: Storage, shape: Shape, dtype: DType): Tensor {
  return new Tensor(new DataBuffer(backend, storage), shape, dtype, backend.name);
}

/** A new tensor sharing `t`'s storage under another shape (no copy). */
export function view(t: Tensor, shape: Shape): Tensor {
  const b = t.live('reshape').retain();
  return new Tensor(b, shape, t.dtype, t.device);
}

export function needsGrad(...inputs: Tensor[]): boolean {
  if (!engine.gradEnabled) return false;
  for (const t of inputs) if (t.requiresGrad) return true;
  return false;
}

/**
 * Attach a backward rule to `out` when any input is tracked and grad mode is on. The rule gets
 * the gradient of `out` and returns one gradient (or null for "no gradient") per input.
 */
/**
 * The backend of `device` for a new tensor of `dtype` (creation, cast, transfer, oneHot): the one
 * place the op layer checks that a device stores a dtype, so kernels never see one it does not.
 */
export function backendFor(op: string, device: DeviceName, dtype: DType): Backend {
  const be = engine.backend(device, op);
  if (!be.supportsDType(dtype)) {
    const has = DTYPES.filter((d) => be.supportsDType(d)).join(' or ');
    throw new DTypeError(`${op}: dtype ${dtype} is not supported on device '${device}' (expected ${has}; float64 runs on cpu, native and cuda)`);
  }
  return be;
}

export function record(out: Tensor, name: OpName, inputs: Tensor[], backward: GradNode['backward']): Tensor {
  if (needsGrad(...inputs)) {
    out.node = { name, inputs, backward };
    out.requiresGrad = true;
  }
  return out;
}

/**
 * Point `target` at `src`'s storage (no copy, no gradient): how running statistics and parameters
 * are updated "in place" while tensors stay immutable to autograd.
 */
export function assign(target: Tensor, src: Tensor): void {
  const b = src.live('assign');
  target.live('assign');
  const what = `assign: target ${target.dtype} ${fmtShape(target.shape)} on ${target.device} cannot take ${src.dtype} ${fmtShape(src.shape)} on ${src.device}`;
  if (target.device !== src.device) throw new DeviceError(what);
  if (target.dtype !== src.dtype) throw new DTypeError(what);
  if (target.size !== src.size) throw new ShapeError(what);
  b.retain();
  target.buf!.release();
  target.buf = b;
  // The host copy of int32 values (used to validate labels) must follow the new storage.
  target.hostInts = src.hostInts;
}
