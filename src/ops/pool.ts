/** Pooling. Max-pool output is a gather at the argmax indices; gather and scatter are each other's adjoint. */
import type { WindowGeom } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, wrap } from './core.js';
import { windowGeom, type Pair } from './conv.js';
import { mean } from './reduce.js';

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

/** Max pooling returning the output and the int32 argmax positions (h*W + w within each plane). */
export function maxPool2dWithIndices(x: Tensor, o: PoolOptions): { out: Tensor; indices: Tensor } {
  const g = geom('maxPool2d', x, o);
  const be = backendOf('maxPool2d', x);
  const r = be.maxPool2d(x, g);
  const indices = wrap(be, r.idx, [g.n, g.c, g.oh, g.ow], 'int32');
  const out = wrap(be, r.out, [g.n, g.c, g.oh, g.ow], x.dtype);
  // d maxPool2d(x) = scatter(g) to the argmax positions
  record(out, 'maxPool2d', [x], (gy) => [scatter(gy, indices, g)]);
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
  return record(y, 'avgPool2d', [x], (gy) => [avgPoolBackwardG(gy, g)]);
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
