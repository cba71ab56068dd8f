/** Reductions over axes; their backward rules broadcast the gradient back (sum) or route it to the argmax (max/min). */
import type { ReduceOp } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { normAxes, normAxis, reducedShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, view, wrap } from './core.js';
import { broadcastTo, reshape, sumTo } from './broadcast.js';

export { sumTo };
import { div, eq, mul, sub } from './elementwise.js';

function reduceRaw(op: ReduceOp, x: Tensor, axes: number[], keepDims: boolean): Tensor {
  const be = backendOf(op, x);
  const kept = reducedShape(x.shape, axes);
  const y = wrap(be, be.reduce(op, x, axes), kept, x.dtype);
  if (keepDims) return y;
  const v = view(y, x.shape.filter((_, i) => !axes.includes(i)));
  y.dispose();
  return v;
}

/** Sum over `axes` (all when omitted). */
// d sum(x) = broadcast(g)
export function sum(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes('sum', axes, x.rank);
  const y = reduceRaw('sum', x, ax, keepDims);
  return record(y, 'sum', [x], (g) => [broadcastTo(reshape(g, reducedShape(x.shape, ax)), x.shape)]);
}

// d mean(x) = broadcast(g) / count
export function mean(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  assertFloat('mean', x.dtype);
  const ax = normAxes('mean', axes, x.rank);
  const count = ax.reduce((c, a) => c * x.shape[a]!, 1);
  if (count === 0) throw new ShapeError(`mean: cannot average over an empty axis of shape ${fmtShape(x.shape)}`);
  return mul(sum(x, ax, keepDims), 1 / count);
}

function extremum(op: 'max' | 'min', x: Tensor, axes: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const ax = normAxes(op, axes, x.rank);
  if (ax.some((a) => x.shape[a] === 0)) throw new ShapeError(`${op}: cannot reduce over an empty axis of shape ${fmtShape(x.shape)}`);
  const y = reduceRaw(op, x, ax, keepDims);
  // d max(x) = g [x == max] / #ties, with the tie mask held constant
  return record(y, op, [x], (g) => {
    const kept = reducedShape(x.shape, ax);
    const mask = eq(x, broadcastTo(reshape(y, kept), x.shape));
    const ties = reduceRaw('sum', mask, ax, true);
    return [mul(broadcastTo(reshape(div(g, reshape(ties, g.shape)), kept), x.shape), mask)];
  });
}

export function max(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extremum('max', x, axes, keepDims);
}

export function min(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  return extremum('min', x, axes, keepDims);
}

function argReduce(op: 'argmax' | 'argmin', x: Tensor, axis: number, keepDims: boolean): Tensor {
  const a = normAxis(op, axis, x.rank);
  if (x.shape[a] === 0) throw new ShapeError(`${op}: axis ${axis} of shape ${fmtShape(x.shape)} is empty`);
  const be = backendOf(op, x);
  const kept = reducedShape(x.shape, [a]);
  const y = wrap(be, be.argReduce(op, x, a), kept, 'int32');
  if (keepDims) return y;
  const v = view(y, x.shape.filter((_, i) => i !== a));
  y.dispose();
  return v;
}

/** Index (int32) of the largest value along `axis` (first one on ties). Not differentiable. */
export function argmax(x: Tensor, axis = -1, keepDims = false): Tensor {
  return argReduce('argmax', x, axis, keepDims);
}

export function argmin(x: Tensor, axis = -1, keepDims = false): Tensor {
  return argReduce('argmin', x, axis, keepDims);
}

/** Biased (population) variance over `axes`. */
export function variance(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes('variance', axes, x.rank);
  const m = mean(x, ax, true);
  const d = sub(x, m);
  return mean(mul(d, d), ax, keepDims);
}
