/**
 * reshape, broadcastTo and its adjoint sumTo: the shape ops the backward rules of every other op
 * file use (unbroadcasting a binary op's gradient, a reduction's gradient). They live apart from
 * layout.ts and reduce.ts so that no op module imports another in a cycle; both re-export them.
 */
import { ShapeError, fmtShape } from '../errors.js';
import { broadcastAxes, broadcastShapes, checkShape, reducedShape, shapesEqual, sizeOf, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, view, wrap } from './core.js';

/** Same values under a new shape (no copy); one dim may be -1. */
// d reshape(x) = reshape(g, x.shape)
export function reshape(x: Tensor, shape: Shape): Tensor {
  backendOf('reshape', x);
  const s = [...shape];
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1) throw new ShapeError(`reshape: at most one dim may be -1, got ${fmtShape(shape)}`);
  if (neg === 1) {
    const known = s.reduce((p, d) => (d === -1 ? p : p * d), 1);
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)}`);
    }
    s[s.indexOf(-1)] = x.size / known;
  }
  checkShape('reshape', s);
  if (sizeOf(s) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${fmtShape(shape)} (${sizeOf(s)} elements)`);
  }
  const y = view(x, s);
  return record(y, 'reshape', [x], (g) => [reshape(g, x.shape)]);
}

// d broadcastTo(x) = sumTo(g, x.shape)
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  const be = backendOf('broadcastTo', x);
  const out = broadcastShapes('broadcastTo', x.shape, shape);
  if (!shapesEqual(out, shape)) {
    throw new ShapeError(`broadcastTo: cannot broadcast ${fmtShape(x.shape)} to ${fmtShape(shape)}`);
  }
  if (shapesEqual(x.shape, shape)) return reshape(x, shape);
  if (x.size === sizeOf(shape)) return reshape(x, shape);
  const y = wrap(be, be.broadcastTo(x, shape), shape, x.dtype);
  return record(y, 'broadcastTo', [x], (g) => [sumTo(g, x.shape)]);
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
  return record(y, 'sumTo', [x], (g) => [broadcastTo(g, x.shape)]);
}
