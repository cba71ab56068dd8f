/**
 * Elementwise unary and binary ops with NumPy broadcasting. Each backward rule is written in these
 * same ops, so it can be differentiated again; rules that reuse the op's output (exp, sigmoid,
 * tanh, sqrt, rsqrt, reciprocal, pow) refer to the output tensor itself, whose own graph node
 * carries the second derivative.
 */
import type { BinaryOp, UnaryOp } from '../backends/backend.js';
import { assertFloat } from '../dtype.js';
import { ArgumentError, DTypeError } from '../errors.js';
import { broadcastShapes, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendOf, record, sameDType, wrap, type TensorOrNumber } from './core.js';
import { sumTo } from './broadcast.js';
import { scalar } from './creation.js';
import type { OpName } from './names.js';

function unaryRaw(op: UnaryOp, x: Tensor, alpha = 0): Tensor {
  const b = backendOf(op, x);
  return wrap(b, b.unary(op, x, alpha), x.shape, x.dtype);
}

function floatUnary(op: UnaryOp, x: Tensor, alpha = 0): Tensor {
  assertFloat(op, x.dtype);
  return unaryRaw(op, x, alpha);
}

// d(-x) = -g
export function neg(x: Tensor): Tensor {
  const y = unaryRaw('neg', x);
  return record(y, 'neg', [x], (g) => [neg(g)]);
}

// d exp(x) = g * exp(x)
export function exp(x: Tensor): Tensor {
  const y = floatUnary('exp', x);
  return record(y, 'exp', [x], (g) => [mul(g, y)]);
}

// d log(x) = g / x
export function log(x: Tensor): Tensor {
  const y = floatUnary('log', x);
  return record(y, 'log', [x], (g) => [div(g, x)]);
}

// d sqrt(x) = g / (2 sqrt(x))
export function sqrt(x: Tensor): Tensor {
  const y = floatUnary('sqrt', x);
  return record(y, 'sqrt', [x], (g) => [div(g, mul(y, 2))]);
}

// d x^{-1/2} = -1/2 g x^{-3/2} = -1/2 g y^3
export function rsqrt(x: Tensor): Tensor {
  const y = floatUnary('rsqrt', x);
  return record(y, 'rsqrt', [x], (g) => [mul(g, mul(mul(square(y), y), -0.5))]);
}

// d (1/x) = -g / x^2 = -g y^2
export function reciprocal(x: Tensor): Tensor {
  const y = floatUnary('reciprocal', x);
  return record(y, 'reciprocal', [x], (g) => [neg(mul(g, square(y)))]);
}

// d |x| = g sign(x)
export function abs(x: Tensor): Tensor {
  const y = unaryRaw('abs', x);
  return record(y, 'abs', [x], (g) => [mul(g, sign(x))]);
}

// d x^2 = 2 g x
export function square(x: Tensor): Tensor {
  const y = unaryRaw('square', x);
  return record(y, 'square', [x], (g) => [mul(g, mul(x, 2))]);
}

// d relu(x) = g [x > 0] = where(y, g, 0): y = relu(x) is nonzero exactly where x > 0 (and where x
// is NaN, which passes the gradient as PyTorch's threshold_backward does). One pass over y and g,
// no mask tensor; the rule is itself a where, so its own derivative in g is again where(y, ., 0).
export function relu(x: Tensor): Tensor {
  const y = floatUnary('relu', x);
  return record(y, 'relu', [x], (g) => [where(y, g, 0)]);
}

// d leakyRelu(x) = g (x > 0 ? 1 : alpha)
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  const y = floatUnary('leakyRelu', x, alpha);
  return record(y, 'leakyRelu', [x], (g) => [mul(g, unaryRaw('leakyReluGrad', x, alpha))]);
}

// d sigmoid(x) = g s (1 - s)
export function sigmoid(x: Tensor): Tensor {
  const y = floatUnary('sigmoid', x);
  return record(y, 'sigmoid', [x], (g) => [mul(g, mul(y, sub(1, y)))]);
}

// d tanh(x) = g (1 - t^2)
export function tanh(x: Tensor): Tensor {
  const y = floatUnary('tanh', x);
  return record(y, 'tanh', [x], (g) => [mul(g, sub(1, square(y)))]);
}

// d softplus(x) = g sigmoid(x)
export function softplus(x: Tensor): Tensor {
  const y = floatUnary('softplus', x);
  return record(y, 'softplus', [x], (g) => [mul(g, sigmoid(x))]);
}

// d sin(x) = g cos(x)
export function sin(x: Tensor): Tensor {
  const y = floatUnary('sin', x);
  return record(y, 'sin', [x], (g) => [mul(g, cos(x))]);
}

// d cos(x) = -g sin(x)
export function cos(x: Tensor): Tensor {
  const y = floatUnary('cos', x);
  return record(y, 'cos', [x], (g) => [neg(mul(g, sin(x)))]);
}

/** Sign of x (-1, 0, 1); its gradient is zero almost everywhere, so it records nothing. */
export function sign(x: Tensor): Tensor {
  return unaryRaw('sign', x);
}

// ---- binary ----

function binaryRaw(op: BinaryOp, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  if (typeof a === 'number' && typeof b === 'number') {
    throw new ArgumentError(`${op}: at least one operand must be a tensor, got two numbers`);
  }
  if (typeof b === 'number') {
    const be = backendOf(op, a as Tensor);
    return wrap(be, be.binaryScalar(op, a as Tensor, b, false), (a as Tensor).shape, (a as Tensor).dtype);
  }
  if (typeof a === 'number') {
    const be = backendOf(op, b);
    return wrap(be, be.binaryScalar(op, b, a, true), b.shape, b.dtype);
  }
  const be = backendOf(op, a, b);
  sameDType(op, a, b);
  const shape = broadcastShapes(op, a.shape, b.shape);
  return wrap(be, be.binary(op, a, b, shape), shape, a.dtype);
}

/** Reduce a gradient to the shape of the operand it flows to (undoing broadcasting). */
function unbroadcast(g: Tensor, x: TensorOrNumber): Tensor | null {
  if (typeof x === 'number') return null;
  return shapesEqual(g.shape, x.shape) ? g : sumTo(g, x.shape);
}

function tensorsOf(a: TensorOrNumber, b: TensorOrNumber): Tensor[] {
  const r: Tensor[] = [];
  if (typeof a !== 'number') r.push(a);
  if (typeof b !== 'number') r.push(b);
  return r;
}

/**
 * Record a binary op; `rule` returns the full-shape gradients (before unbroadcasting) for a and b,
 * told which of them this grad() call needs (never a number, a constant, a mask or labels).
 */
function recordBinary(
  y: Tensor,
  name: OpName,
  a: TensorOrNumber,
  b: TensorOrNumber,
  rule: (g: Tensor, needA: boolean, needB: boolean) => [Tensor | null, Tensor | null],
): Tensor {
  return record(y, name, tensorsOf(a, b), (g, need) => {
    const needA = typeof a !== 'number' && need[0]!;
    const needB = typeof b !== 'number' && need[typeof a !== 'number' ? 1 : 0]!;
    const [ga, gb] = rule(g, needA, needB);
    const out: (Tensor | null)[] = [];
    if (typeof a !== 'number') out.push(ga && needA ? unbroadcast(ga, a) : null);
    if (typeof b !== 'number') out.push(gb && needB ? unbroadcast(gb, b) : null);
    return out;
  });
}

const isT = (x: TensorOrNumber): x is Tensor => typeof x !== 'number';

// d(a + b) = (g, g)
export function add(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const y = binaryRaw('add', a, b);
  return recordBinary(y, 'add', a, b, (g) => [g, g]);
}

// d(a - b) = (g, -g)
export function sub(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const y = binaryRaw('sub', a, b);
  return recordBinary(y, 'sub', a, b, (g, _na, nb) => [g, nb ? neg(g) : null]);
}

// d(a b) = (g b, g a)
export function mul(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const y = binaryRaw('mul', a, b);
  return recordBinary(y, 'mul', a, b, (g, na, nb) => [na ? mul(g, b) : null, nb ? mul(g, a) : null]);
}

// d(a / b) = (g / b, -g a / b^2)
export function div(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const y = binaryRaw('div', a, b);
  return recordBinary(y, 'div', a, b, (g, na, nb) => [
    na ? div(g, b) : null,
    nb && isT(b) ? neg(div(mul(g, a), square(b))) : null,
  ]);
}

// d(a^b) = (g b a^(b-1), g a^b log a), the latter taken as 0 where a <= 0
export function pow(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const t = isT(a) ? a : (b as Tensor);
  assertFloat('pow', t.dtype);
  const y = binaryRaw('pow', a, b);
  return recordBinary(y, 'pow', a, b, (g, na, nb) => [
    na ? mul(g, mul(b, pow(a, isT(b) ? sub(b, 1) : b - 1))) : null,
    nb ? mul(g, mul(y, safeLog(a))) : null,
  ]);
}

function safeLog(a: TensorOrNumber): TensorOrNumber {
  if (typeof a === 'number') return a > 0 ? Math.log(a) : 0;
  const pos = gt(a, 0);
  return where(pos, log(where(pos, a, 1)), 0);
}

// d max(a, b) = (g [a >= b], g [a < b]): ties go to a
export function maximum(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const y = binaryRaw('maximum', a, b);
  return recordBinary(y, 'maximum', a, b, (g, na, nb) => [
    na ? mul(g, binaryRaw('ge', a, b)) : null,
    nb ? mul(g, binaryRaw('lt', a, b)) : null,
  ]);
}

// d min(a, b) = (g [a <= b], g [a > b]): ties go to a
export function minimum(a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const y = binaryRaw('minimum', a, b);
  return recordBinary(y, 'minimum', a, b, (g, na, nb) => [
    na ? mul(g, binaryRaw('le', a, b)) : null,
    nb ? mul(g, binaryRaw('gt', a, b)) : null,
  ]);
}

/** Limit x to [lo, hi]; the gradient passes where x is inside. */
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  return minimum(maximum(x, lo), hi);
}

/** Comparisons give 1 or 0 in the operands' dtype and carry no gradient. */
export const eq = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryRaw('eq', a, b);
export const ne = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryRaw('ne', a, b);
export const lt = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryRaw('lt', a, b);
export const le = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryRaw('le', a, b);
export const gt = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryRaw('gt', a, b);
export const ge = (a: TensorOrNumber, b: TensorOrNumber): Tensor => binaryRaw('ge', a, b);

function asTensorLike(v: TensorOrNumber, like: Tensor): Tensor {
  return typeof v === 'number' ? scalar(v, { dtype: like.dtype, device: like.device }) : v;
}

// d where(c, a, b) = (g [c], g [!c])
export function where(cond: Tensor, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const like = isT(a) ? a : isT(b) ? b : cond;
  const ta = asTensorLike(a, like);
  const tb = asTensorLike(b, like);
  const be = backendOf('where', cond, ta, tb);
  if (ta.dtype !== tb.dtype) {
    throw new DTypeError(`where: branches must share a dtype, got ${ta.dtype} and ${tb.dtype}`);
  }
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const y = wrap(be, be.where(cond, ta, tb, shape), shape, ta.dtype);
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return recordBinary(y, 'where', a, b, (g, na, nb) => {
    const zero = scalar(0, { dtype: g.dtype, device: g.device });
    return [na ? where(cond, g, zero) : null, nb ? where(cond, zero, g) : null];
  });
}
