/** Pooling. Max-pool output is a gather at the argmax indices; gather and scatter are each other's adjoint. */
import type { Backend, Storage, WindowGeom } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, wrap } from './core.js';
import { windowGeom, type Pair } from './conv.js';
import { mean } from './reduce.js';
import { reshape } from './broadcast.js';

export interface PoolOptions {
  kernel: Pair;
  /** Defaults to the kernel size. */
  stride?: Pair;
  padding?: Pair;
}

function geom(op: string, x: Tensor, o: PoolOptions): WindowGeom {
  assertFloat(op, x.dtype);
  const g = windowGeom(op, x, { kernel: o.kernel, stride: o.stride ?? o.kernel, padding: o.padding ?? 0 });
  if (g.ph * 2 >= g.kh + 1 || g.pw * 2 >= g.kw + 1) {
    throw new ShapeError(`${op}: padding ${g.ph},${g.pw} must be at most half the kernel ${g.kh}x${g.kw}`);
  }
  return g;
}

// d gather(x, idx) = scatter(g, idx)
function gather(x: Tensor, idx: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('maxPoolGather', x, idx);
  const y = wrap(be, be.maxPoolGather(x, idx, g), [g.n, g.c, g.oh, g.ow], x.dtype);
  return record(y, 'maxPoolGather', [x], (gy) => [scatter(gy, idx, g)]);
}

// d scatter(g, idx) = gather(g, idx)
function scatter(gy: Tensor, idx: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('maxPoolScatter', gy, idx);
  const y = wrap(be, be.maxPoolScatter(gy, idx, g), [g.n, g.c, g.h, g.w], gy.dtype);
  return record(y, 'maxPoolScatter', [gy], (gx) => [gather(gx, idx, g)]);
}

let poolStacksOn = true;
/**
 * Whether batched max pooling hands the backend the whole cotangent stack where it takes stacks
 * (Backend.poolStacks; the default) or makes one call per block (false: the test oracle). Returns
 * the previous setting.
 */
export function setPoolStacks(on: boolean): boolean {
  const prev = poolStacksOn;
  poolStacksOn = on;
  return prev;
}

/**
 * scatter and gather for K cotangents with the one set of argmax indices (shared, never
 * replicated): gy [K, N, C, oh, ow] -> [K, N, C, H, W], one scatter kernel over the stack where the
 * backend takes stacks (Backend.poolStacks), else one per cotangent block,
 * and back. The backends' kernels read indices plane by plane in step with their input, so folding
 * K into the batch would need the indices copied K times; a composite (nearest upsampling of gy
 * times the argmax mask) measured 7x the kernels' CPU time on the small CNN (a strided expand and
 * its 7-D reduce). The two are recorded as one op each, each the other's adjoint, so the outer
 * backward is K gathers, not K slices padded back to full size and summed.
 */
function perBlock(op: string, x: Tensor, idx: Tensor, inShape: number[], outShape: number[], kernel: (be: Backend, xj: Tensor) => Storage): Tensor {
  const be = backendOf(op, x, idx);
  const k = x.shape[0]!;
  // the whole stack in one call where the backend takes stacks (Backend.poolStacks)
  if (be.poolStacks && poolStacksOn) return wrap(be, kernel(be, x), [k, ...outShape], x.dtype);
  const parts = Array.from({ length: k }, (_, j) => {
    const xj = wrap(be, be.slice(x, [j, 0, 0, 0, 0], [1, ...inShape]), inShape, x.dtype);
    const out = wrap(be, kernel(be, xj), [1, ...outShape], x.dtype);
    xj.dispose();
    return out;
  });
  if (k === 1) return parts[0]!;
  const y = wrap(be, be.concat(parts, 0), [k, ...outShape], x.dtype);
  for (const p of parts) p.dispose();
  return y;
}

function scatterBatched(gy: Tensor, idx: Tensor, g: WindowGeom): Tensor {
  const y = perBlock('maxPoolScatter', gy, idx, [g.n, g.c, g.oh, g.ow], [g.n, g.c, g.h, g.w], (be, gj) => be.maxPoolScatter(gj, idx, g));
  return record(y, 'maxPoolScatter', [gy], (gx) => [gatherBatched(gx, idx, g)]);
}

function gatherBatched(x: Tensor, idx: Tensor, g: WindowGeom): Tensor {
  const y = perBlock('maxPoolGather', x, idx, [g.n, g.c, g.h, g.w], [g.n, g.c, g.oh, g.ow], (be, xj) => be.maxPoolGather(xj, idx, g));
  return record(y, 'maxPoolGather', [x], (gy) => [scatterBatched(gy, idx, g)]);
}

/** Max pooling returning the output and the int32 argmax positions (h*W + w within each plane). */
export function maxPool2dWithIndices(x: Tensor, o: PoolOptions): { out: Tensor; indices: Tensor } {
  const g = geom('maxPool2d', x, o);
  const be = backendOf('maxPool2d', x);
  const r = be.maxPool2d(x, g);
  const indices = wrap(be, r.idx, [g.n, g.c, g.oh, g.ow], 'int32');
  const out = wrap(be, r.out, [g.n, g.c, g.oh, g.ow], x.dtype);
  // d maxPool2d(x) = scatter(g) to the argmax positions
  record(out, 'maxPool2d', [x], (gy) => [scatter(gy, indices, g)], (gy) => [scatterBatched(gy, indices, g)]);
  return { out, indices };
}

export function maxPool2d(x: Tensor, o: PoolOptions): Tensor {
  const { out, indices } = maxPool2dWithIndices(x, o);
  if (!out.requiresGrad) indices.dispose();
  return out;
}

/** out[n,c] = x[n,c, indices[n,c]]: the max-pool gather at given indices (e.g. from maxPool2dWithIndices). */
export function maxPoolGather(x: Tensor, indices: Tensor, o: PoolOptions): Tensor {
  const g = geom('maxPoolGather', x, o);
  if (indices.dtype !== 'int32' || indices.rank !== 4 || indices.shape.some((d, i) => d !== [g.n, g.c, g.oh, g.ow][i])) {
    throw new ShapeError(`maxPoolGather: indices must be int32 ${fmtShape([g.n, g.c, g.oh, g.ow])}, got ${indices.dtype} ${fmtShape(indices.shape)}`);
  }
  return gather(x, indices, g);
}

// d avgPool2d(x) = avgPool2dBackward(g);  d avgPool2dBackward(g) = avgPool2d(.)
function avgPoolG(x: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('avgPool2d', x);
  const y = wrap(be, be.avgPool2d(x, g), [g.n, g.c, g.oh, g.ow], x.dtype);
  // batched: K folded into the batch of the (parameter-free) backward window sum
  return record(y, 'avgPool2d', [x], (gy) => [avgPoolBackwardG(gy, g)], (gy) => {
    const k = gy.shape[0]!;
    const dx = avgPoolBackwardG(reshape(gy, [k * g.n, g.c, g.oh, g.ow]), { ...g, n: k * g.n });
    return [reshape(dx, [k, g.n, g.c, g.h, g.w])];
  });
}

function avgPoolBackwardG(gy: Tensor, g: WindowGeom): Tensor {
  const be = backendOf('avgPool2dBackward', gy);
  const y = wrap(be, be.avgPool2dBackward(gy, g), [g.n, g.c, g.h, g.w], gy.dtype);
  return record(y, 'avgPool2dBackward', [gy], (gx) => [avgPoolG(gx, g)]);
}

/** Average pooling; padding counts as zeros with divisor kh*kw. */
export function avgPool2d(x: Tensor, o: PoolOptions): Tensor {
  return avgPoolG(x, geom('avgPool2d', x, o));
}

/** Mean over H and W: [N, C, H, W] -> [N, C]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  if (x.rank !== 4) throw new ShapeError(`globalAvgPool2d: expected NCHW input, got ${fmtShape(x.shape)}`);
  return mean(x, [2, 3]);
}
