import type { TypedArray } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { alloc, arr } from './storage.js';

function rowsCols(x: TensorRef): [number, number] {
  const cols = x.shape[x.shape.length - 1] ?? 1;
  return [cols === 0 ? 0 : arr(x).length / cols, cols];
}

/** A row's max m and sum of exp(x - m), in double. */
function rowMaxExpSum(X: TypedArray, o: number, cols: number): [number, number] {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, X[o + j]!);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(X[o + j]! - m);
  return [m, s];
}

/** out = f applied row by row over the last axis: f(X, out, o, cols) fills out[o .. o + cols). */
function byRow(x: TensorRef, f: (X: TypedArray, out: TypedArray, o: number, cols: number) => void): TypedArray {
  const X = arr(x);
  const [rows, cols] = rowsCols(x);
  const out = alloc(x.dtype, X.length);
  for (let r = 0; r < rows; r++) f(X, out, r * cols, cols);
  return out;
}

export function softmax(x: TensorRef): TypedArray {
  return byRow(x, (X, out, o, cols) => {
    const [m, s] = rowMaxExpSum(X, o, cols);
    const inv = 1 / s;
    // exp(x - m) stored in the output dtype, then scaled
    for (let j = 0; j < cols; j++) out[o + j] = Math.exp(X[o + j]! - m);
    for (let j = 0; j < cols; j++) out[o + j] = out[o + j]! * inv;
  });
}

export function logSoftmax(x: TensorRef): TypedArray {
  return byRow(x, (X, out, o, cols) => {
    const [m, s] = rowMaxExpSum(X, o, cols);
    const lse = m + Math.log(s);
    for (let j = 0; j < cols; j++) out[o + j] = X[o + j]! - lse;
  });
}

export function softmaxHvp(p: TensorRef, v: TensorRef): TypedArray {
  const P = arr(p);
  const V = arr(v);
  const [rows, cols] = rowsCols(p);
  const out = alloc(p.dtype, P.length);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let d = 0;
    for (let j = 0; j < cols; j++) d += P[o + j]! * V[o + j]!;
    for (let j = 0; j < cols; j++) out[o + j] = P[o + j]! * (V[o + j]! - d);
  }
  return out;
}

export function crossEntropy(logits: TensorRef, labels: TensorRef): TypedArray {
  const Z = arr(logits);
  const Y = arr(labels);
  const [rows, cols] = rowsCols(logits);
  const out = alloc(logits.dtype, rows);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    const [m, s] = rowMaxExpSum(Z, o, cols);
    out[r] = m + Math.log(s) - Z[o + Y[r]!]!;
  }
  return out;
}

export function softmaxCrossEntropyGrad(logits: TensorRef, labels: TensorRef): TypedArray {
  const out = softmax(logits);
  const Y = arr(labels);
  const cols = logits.shape[logits.shape.length - 1]!;
  for (let r = 0; r < Y.length; r++) out[r * cols + Y[r]!] -= 1;
  return out;
}

export function oneHot(labels: TensorRef, classes: number, out: TypedArray): TypedArray {
  const Y = arr(labels);
  for (let r = 0; r < Y.length; r++) {
    const y = Y[r]!;
    if (y >= 0 && y < classes) out[r * classes + y] = 1;
  }
  return out;
}
