import type { TypedArray } from '../../dtype.js';
import type { BinaryOp, TensorRef, UnaryOp } from '../backend.js';
import { broadcastStrides, sizeOf, type Shape } from '../../shape.js';
import { alloc, arr } from './storage.js';

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export function unaryFn(op: UnaryOp, alpha: number): (x: number) => number {
  switch (op) {
    case 'neg': return (x) => -x;
    case 'exp': return Math.exp;
    case 'log': return Math.log;
    case 'sqrt': return Math.sqrt;
    case 'rsqrt': return (x) => 1 / Math.sqrt(x);
    case 'reciprocal': return (x) => 1 / x;
    case 'abs': return Math.abs;
    case 'square': return (x) => x * x;
    // written so that NaN propagates (x > 0 ? x : 0 would turn NaN into 0)
    case 'relu': return (x) => (x < 0 ? 0 : x);
    case 'leakyRelu': return (x) => (x > 0 ? x : alpha * x);
    case 'leakyReluGrad': return (x) => (x > 0 ? 1 : alpha);
    case 'sigmoid': return sigmoid;
    case 'tanh': return Math.tanh;
    case 'softplus': return softplus;
    case 'sign': return (x) => (x > 0 ? 1 : x < 0 ? -1 : 0);
    case 'sin': return Math.sin;
    case 'cos': return Math.cos;
  }
}

export function binaryFn(op: BinaryOp): (a: number, b: number) => number {
  switch (op) {
    case 'add': return (a, b) => a + b;
    case 'sub': return (a, b) => a - b;
    case 'mul': return (a, b) => a * b;
    case 'div': return (a, b) => a / b;
    case 'pow': return Math.pow;
    case 'maximum': return Math.max;
    case 'minimum': return Math.min;
    case 'eq': return (a, b) => (a === b ? 1 : 0);
    case 'ne': return (a, b) => (a !== b ? 1 : 0);
    case 'lt': return (a, b) => (a < b ? 1 : 0);
    case 'le': return (a, b) => (a <= b ? 1 : 0);
    case 'gt': return (a, b) => (a > b ? 1 : 0);
    case 'ge': return (a, b) => (a >= b ? 1 : 0);
  }
}

export function unary(op: UnaryOp, x: TensorRef, alpha: number): TypedArray {
  const xs = arr(x);
  const out = alloc(x.dtype, xs.length);
  const n = xs.length;
  // The hottest ops get straight loops; the rest go through a closure.
  if (op === 'relu') {
    for (let i = 0; i < n; i++) { const v = xs[i]!; out[i] = v < 0 ? 0 : v; }
  } else if (op === 'neg') {
    for (let i = 0; i < n; i++) out[i] = -xs[i]!;
  } else if (op === 'square') {
    if (x.dtype === 'int32') for (let i = 0; i < n; i++) out[i] = Math.imul(xs[i]!, xs[i]!);
    else for (let i = 0; i < n; i++) { const v = xs[i]!; out[i] = v * v; }
  } else {
    const f = unaryFn(op, alpha);
    for (let i = 0; i < n; i++) out[i] = f(xs[i]!);
  }
  return out;
}

/** Iterate over every index of `shape`, calling body(outIndex, aOffset, bOffset). */
function forEachBroadcast2(
  shape: Shape,
  sa: readonly number[],
  sb: readonly number[],
  body: (o: number, ia: number, ib: number) => void,
): void {
  const r = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  if (r === 0) { body(0, 0, 0); return; }
  const last = shape[r - 1]!;
  const la = sa[r - 1]!;
  const lb = sb[r - 1]!;
  const idx = new Array<number>(r).fill(0);
  let ia = 0;
  let ib = 0;
  let o = 0;
  while (o < n) {
    let ja = ia;
    let jb = ib;
    for (let k = 0; k < last; k++) { body(o++, ja, jb); ja += la; jb += lb; }
    // Advance the outer odometer.
    let d = r - 2;
    while (d >= 0) {
      idx[d]!++;
      ia += sa[d]!;
      ib += sb[d]!;
      if (idx[d]! < shape[d]!) break;
      ia -= sa[d]! * shape[d]!;
      ib -= sb[d]! * shape[d]!;
      idx[d] = 0;
      d--;
    }
  }
}

export function binary(op: BinaryOp, a: TensorRef, b: TensorRef, outShape: Shape): TypedArray {
  const A = arr(a);
  const B = arr(b);
  const out = alloc(a.dtype, sizeOf(outShape));
  const n = out.length;
  if (a.dtype === 'int32' && op === 'mul') {
    // int32 products wrap modulo 2^32 exactly (a float64 product loses bits beyond 2^53).
    const sa = broadcastStrides(a.shape, outShape);
    const sb = broadcastStrides(b.shape, outShape);
    forEachBroadcast2(outShape, sa, sb, (o, i, j) => { out[o] = Math.imul(A[i]!, B[j]!); });
    return out;
  }
  if (A.length === n && B.length === n) {
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = A[i]! + B[i]!; return out;
      case 'sub': for (let i = 0; i < n; i++) out[i] = A[i]! - B[i]!; return out;
      case 'mul': for (let i = 0; i < n; i++) out[i] = A[i]! * B[i]!; return out;
      case 'div': for (let i = 0; i < n; i++) out[i] = A[i]! / B[i]!; return out;
      default: {
        const f = binaryFn(op);
        for (let i = 0; i < n; i++) out[i] = f(A[i]!, B[i]!);
        return out;
      }
    }
  }
  const f = binaryFn(op);
  const sa = broadcastStrides(a.shape, outShape);
  const sb = broadcastStrides(b.shape, outShape);
  if (op === 'mul') forEachBroadcast2(outShape, sa, sb, (o, i, j) => { out[o] = A[i]! * B[j]!; });
  else if (op === 'add') forEachBroadcast2(outShape, sa, sb, (o, i, j) => { out[o] = A[i]! + B[j]!; });
  else forEachBroadcast2(outShape, sa, sb, (o, i, j) => { out[o] = f(A[i]!, B[j]!); });
  return out;
}

export function binaryScalar(op: BinaryOp, x: TensorRef, s: number, scalarLeft: boolean): TypedArray {
  const X = arr(x);
  const out = alloc(x.dtype, X.length);
  const n = X.length;
  if (x.dtype === 'int32' && op === 'mul' && Number.isInteger(s) && Math.abs(s) < 2 ** 31) {
    for (let i = 0; i < n; i++) out[i] = Math.imul(X[i]!, s);
    return out;
  }
  if (!scalarLeft && op === 'mul') { for (let i = 0; i < n; i++) out[i] = X[i]! * s; return out; }
  if (op === 'add') { for (let i = 0; i < n; i++) out[i] = X[i]! + s; return out; }
  const f = binaryFn(op);
  if (scalarLeft) for (let i = 0; i < n; i++) out[i] = f(s, X[i]!);
  else for (let i = 0; i < n; i++) out[i] = f(X[i]!, s);
  return out;
}

export function where(c: TensorRef, a: TensorRef, b: TensorRef, outShape: Shape): TypedArray {
  const C = arr(c);
  const A = arr(a);
  const B = arr(b);
  const out = alloc(a.dtype, sizeOf(outShape));
  const sc = broadcastStrides(c.shape, outShape);
  const sa = broadcastStrides(a.shape, outShape);
  const sb = broadcastStrides(b.shape, outShape);
  const r = outShape.length;
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < out.length; o++) {
    let ic = 0, ia = 0, ib = 0;
    for (let d = 0; d < r; d++) { ic += idx[d]! * sc[d]!; ia += idx[d]! * sa[d]!; ib += idx[d]! * sb[d]!; }
    out[o] = C[ic]! !== 0 ? A[ia]! : B[ib]!;
    for (let d = r - 1; d >= 0; d--) { if (++idx[d]! < outShape[d]!) break; idx[d] = 0; }
  }
  return out;
}
