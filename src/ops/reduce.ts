/** Reductions over axes; their backward rules broadcast the gradient back (sum) or route it to the argmax (max/min). */
import type { ReduceOp } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { broadcastAxes, normAxes, normAxis, reducedShape, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, view, wrap } from './core.js';
import { broadcastTo, reshape } from './layout.js';
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
  return record(
    y,
    'sum',
    [x],
    (g) => [broadcastTo(reshape(g, reducedShape(x.shape, ax)), x.shape)],
    (g) => [broadcastTo(reshape(g, [g.shape[0]!, ...reducedShape(x.shape, ax)]), [g.shape[0]!, ...x.shape])],
  );
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

/** Sum a broadcast tensor back down to `shape` (the adjoint of broadcastTo). */
// d sumTo(g) = broadcastTo(g)
export function sumTo(x: Tensor, shape: Shape): Tensor {
  backendOf('sumTo', x);
  const off = x.rank - shape.length;
  if (off < 0 || shape.some((d, i) => d !== 1 && d !== x.shape[i + off])) {
    throw new ShapeError(`sumTo: cannot sum shape ${fmtShape(x.shape)} down to ${fmtShape(shape)} (it does not broadcast to it)`);
  }
  const axes = broadcastAxes(shape, x.shape);
  if (axes.length === 0) return reshape(x, shape);
  const be = backendOf('sumTo', x);
  const s = wrap(be, be.reduce('sum', x, axes), reducedShape(x.shape, axes), x.dtype);
  const y = view(s, shape);
  s.dispose();
  return record(y, 'sumTo', [x], (g) => [broadcastTo(g, x.shape)], (g) => [broadcastBatched(g, x.shape)]);
}

/**
 * sumTo for a K-batched gradient (a batched vjp's leading cotangent axis): x [K, ...s] summed down
 * to [K, ...shape], where `shape` broadcasts to s; the K axis is never summed.
 */
export function sumToBatched(x: Tensor, shape: Shape): Tensor {
  const k = x.shape[0]!;
  const lead = x.rank - 1 - shape.length;
  if (lead < 0) throw new ShapeError(`sumToBatched: cannot sum shape ${fmtShape(x.shape)} down to [K, ...${fmtShape(shape)}]`);
  const padded = [k, ...new Array<number>(lead).fill(1), ...shape];
  const s = sumTo(x, padded);
  return lead === 0 ? s : reshape(s, [k, ...shape]);
}

/** broadcastTo for a K-batched tensor: x [K, ...s] to [K, ...shape], s broadcasting to shape. */
export function broadcastBatched(x: Tensor, shape: Shape): Tensor {
  const k = x.shape[0]!;
  const lead = shape.length - (x.rank - 1);
  const r = lead === 0 ? x : reshape(x, [k, ...new Array<number>(lead).fill(1), ...x.shape.slice(1)]);
  return broadcastTo(r, [k, ...shape]);
}

/** Biased (population) variance over `axes`. */
export function variance(x: Tensor, axes?: number | readonly number[], keepDims = false): Tensor {
  const ax = normAxes('variance', axes, x.rank);
  const m = mean(x, ax, true);
  const d = sub(x, m);
  return mean(mul(d, d), ax, keepDims);
}
