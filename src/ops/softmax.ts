/**
 * Softmax family over one axis. softmax's backward is the softmax-Jacobian product
 * p*v - p*(p.v), a fused kernel (softmaxHvp) whose own backward is composed of primitive ops, so
 * second and higher derivatives stay exact.
 */
import { assertFloat } from '../dtype.js';
import { ShapeError, fmtShape } from '../errors.js';
import { normAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, sameDType, wrap } from './core.js';
import { mul, sub } from './elementwise.js';
import { permute } from './layout.js';
import { sum } from './reduce.js';

/** Run a last-axis op along `axis` by moving that axis last and back. */
function alongAxis(op: string, x: Tensor, axis: number, f: (t: Tensor) => Tensor): Tensor {
  const a = normAxis(op, axis, x.rank);
  if (a === x.rank - 1) return f(x);
  const perm = x.shape.map((_, i) => i).filter((i) => i !== a);
  perm.push(a);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return permute(f(permute(x, perm)), inv);
}

/**
 * The softmax Jacobian (equivalently the cross-entropy Hessian in logit space, the H = diag(p) - p p^T
 * of thesis eq. 62) applied to v, row-wise over the last axis: J_p v = p*v - p*(p.v).
 */
// d/dv: J_p u (J_p is symmetric);  d/dp: u*(v - p.v) - v*(u.p)
export function softmaxHvp(p: Tensor, v: Tensor): Tensor {
  const be = backendOf('softmaxHvp', p, v);
  assertFloat('softmaxHvp', p.dtype);
  sameDType('softmaxHvp', p, v);
  if (!shapesEqual(p.shape, v.shape) || p.rank < 1) {
    throw new ShapeError(`softmaxHvp: p and v must share a shape of rank >= 1, got ${fmtShape(p.shape)} and ${fmtShape(v.shape)}`);
  }
  const y = wrap(be, be.softmaxHvp(p, v), p.shape, p.dtype);
  return record(y, 'softmaxHvp', [p, v], (u) => {
    const last = p.rank - 1;
    const pv = sum(mul(p, v), last, true);
    const up = sum(mul(u, p), last, true);
    return [sub(mul(u, sub(v, pv)), mul(v, up)), softmaxHvp(p, u)];
  });
}

/** The softmax-Hessian product in primitive ops: the composite twin of softmaxHvp. */
export function softmaxHvpComposite(p: Tensor, v: Tensor): Tensor {
  const pv = mul(p, v);
  return sub(pv, mul(p, sum(pv, pv.rank - 1, true)));
}

function softmaxLast(z: Tensor): Tensor {
  const be = backendOf('softmax', z);
  const p = wrap(be, be.softmax(z), z.shape, z.dtype);
  // d softmax(z) = J_p g = p*g - p*(p.g)
  // batched: the composite product, p broadcast along K (one copy of p)
  return record(p, 'softmax', [z], (g) => [softmaxHvp(p, g)], (g) => [softmaxHvpComposite(p, g)]);
}

function logSoftmaxLast(z: Tensor): Tensor {
  const be = backendOf('logSoftmax', z);
  const y = wrap(be, be.logSoftmax(z), z.shape, z.dtype);
  // d logSoftmax(z) = g - softmax(z) * sum(g)
  const rule = (g: Tensor): Tensor[] => [sub(g, mul(softmaxLast(z), sum(g, g.rank - 1, true)))];
  return record(y, 'logSoftmax', [z], rule, rule);
}

export function softmax(z: Tensor, axis = -1): Tensor {
  assertFloat('softmax', z.dtype);
  if (z.rank === 0) throw new ShapeError('softmax: needs a tensor of rank >= 1, got a scalar');
  return alongAxis('softmax', z, axis, softmaxLast);
}

export function logSoftmax(z: Tensor, axis = -1): Tensor {
  assertFloat('logSoftmax', z.dtype);
  if (z.rank === 0) throw new ShapeError('logSoftmax: needs a tensor of rank >= 1, got a scalar');
  return alongAxis('logSoftmax', z, axis, logSoftmaxLast);
}
