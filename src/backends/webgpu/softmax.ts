/** Row-wise softmax family over the last axis (shaders/softmax.wgsl), split by rows to fit the binding size. */
import type { DType } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { batchChunks } from './plan.js';
import { WG, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';

const K_ROWS_T = kernel('softmax', 'rows_thread', 'rrw');
const K_ROWS_WG = kernel('softmax', 'rows_wg', 'rrw');
const K_ONE_HOT = kernel('softmax', 'one_hot', 'rw');

const Kind = { Softmax: 0, LogSoftmax: 1, Hvp: 2, CrossEntropy: 3, CeGrad: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

/** Rows shorter than this take one invocation each; longer ones a workgroup. */
const THREAD_ROW_MAX = 32;

function rowKernel(rt: Runtime, kind: Kind, a: TensorRef, b: TensorRef | null): GpuStorage {
  const cols = a.shape[a.shape.length - 1] ?? 1;
  const rows = cols === 0 ? 0 : a.storage.length / cols;
  const perRowOut = kind === Kind.CrossEntropy ? 1 : cols;
  const out = rt.alloc(rows * perRowOut, a.dtype);
  if (rows === 0 || cols === 0) return out;
  const bs = b ? b.storage : a.storage;
  const bPer = kind === Kind.Hvp ? cols : b ? 1 : 0;
  const ops = [{ perItem: cols, length: a.storage.length }, { perItem: bPer, length: bs.length }, { perItem: perRowOut, length: out.length }];
  for (const c of batchChunks(rows, ops, rt.lim, 'softmax')) {
    if (c.count === 0) continue;
    const w = new Words().u32(c.count, cols, c.shifts[0]!, b ? c.shifts[1]! : 0, c.shifts[2]!, kind, 0, 0).done();
    const binds = [rt.bind(a.storage, c.windows[0]), rt.bind(bs, b ? c.windows[1] : undefined), rt.bind(out, c.windows[2])];
    if (cols <= THREAD_ROW_MAX) rt.dispatch(K_ROWS_T, { WG }, w, binds, rt.grid(Math.ceil(c.count / WG)));
    else rt.dispatch(K_ROWS_WG, { WG: rt.treeWG }, w, binds, rt.grid(c.count));
  }
  return out;
}

export const softmax = (rt: Runtime, x: TensorRef): GpuStorage => rowKernel(rt, Kind.Softmax, x, null);
export const logSoftmax = (rt: Runtime, x: TensorRef): GpuStorage => rowKernel(rt, Kind.LogSoftmax, x, null);
export const softmaxHvp = (rt: Runtime, p: TensorRef, v: TensorRef): GpuStorage => rowKernel(rt, Kind.Hvp, p, v);
export const crossEntropy = (rt: Runtime, z: TensorRef, y: TensorRef): GpuStorage => rowKernel(rt, Kind.CrossEntropy, z, y);
export const softmaxCrossEntropyGrad = (rt: Runtime, z: TensorRef, y: TensorRef): GpuStorage => rowKernel(rt, Kind.CeGrad, z, y);

export function oneHot(rt: Runtime, labels: TensorRef, classes: number, dtype: DType): GpuStorage {
  const rows = labels.storage.length;
  const out = rt.alloc(rows * classes, dtype);
  const one = dtype === 'int32' ? 1 : 0x3f800000;
  const ops = [{ perItem: 1, length: rows }, { perItem: classes, length: out.length }];
  for (const c of batchChunks(rows, ops, rt.lim, 'oneHot')) {
    if (c.count === 0) continue;
    const w = new Words().u32(c.count, classes, one, c.shifts[0]!, c.shifts[1]!, 0, 0, 0).done();
    rt.dispatch(K_ONE_HOT, { WG }, w, [rt.bind(labels.storage, c.windows[0]), rt.bind(out, c.windows[1])],
      rt.grid(Math.ceil((c.count * classes) / WG)));
  }
  return out;
}
