import type { TypedArray } from '../../dtype.js';
import type { TensorRef } from '../backend.js';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape.js';
import { alloc, arr } from './storage.js';

/** Copy `src` read through `srcStrides` (+ base offset) into a dense array of `shape`. */
function gatherStrided(src: TypedArray, shape: Shape, srcStrides: readonly number[], base: number, out: TypedArray): void {
  const r = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  if (r === 0) { out[0] = src[base]!; return; }
  const idx = new Array<number>(r).fill(0);
  const last = shape[r - 1]!;
  const ls = srcStrides[r - 1]!;
  let s = base;
  let o = 0;
  while (o < n) {
    let j = s;
    for (let k = 0; k < last; k++, j += ls) out[o++] = src[j]!;
    let d = r - 2;
    while (d >= 0) {
      idx[d]!++;
      s += srcStrides[d]!;
      if (idx[d]! < shape[d]!) break;
      s -= srcStrides[d]! * shape[d]!;
      idx[d] = 0;
      d--;
    }
  }
}

export function permute(x: TensorRef, perm: readonly number[]): TypedArray {
  const st = stridesOf(x.shape);
  const oshape = perm.map((p) => x.shape[p]!);
  const out = alloc(x.dtype, sizeOf(oshape));
  gatherStrided(arr(x), oshape, perm.map((p) => st[p]!), 0, out);
  return out;
}

export function broadcastTo(x: TensorRef, outShape: Shape): TypedArray {
  const out = alloc(x.dtype, sizeOf(outShape));
  gatherStrided(arr(x), outShape, broadcastStrides(x.shape, outShape), 0, out);
  return out;
}

export function slice(x: TensorRef, begin: readonly number[], size: readonly number[]): TypedArray {
  const st = stridesOf(x.shape);
  let base = 0;
  for (let d = 0; d < begin.length; d++) base += begin[d]! * st[d]!;
  const out = alloc(x.dtype, sizeOf(size));
  gatherStrided(arr(x), size, st, base, out);
  return out;
}

export function pad(x: TensorRef, before: readonly number[], after: readonly number[], value: number): TypedArray {
  const X = arr(x);
  const oshape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const out = alloc(x.dtype, sizeOf(oshape));
  if (value !== 0) out.fill(value);
  const ost = stridesOf(oshape);
  let base = 0;
  for (let d = 0; d < before.length; d++) base += before[d]! * ost[d]!;
  // Scatter x into the interior: walk x densely, write through the output strides.
  const r = x.shape.length;
  const n = X.length;
  if (n === 0) return out;
  if (r === 0) { out[0] = X[0]!; return out; }
  const idx = new Array<number>(r).fill(0);
  const last = x.shape[r - 1]!;
  let o = base;
  let i = 0;
  while (i < n) {
    for (let k = 0; k < last; k++) out[o + k] = X[i++]!;
    let d = r - 2;
    while (d >= 0) {
      idx[d]!++;
      o += ost[d]!;
      if (idx[d]! < x.shape[d]!) break;
      o -= ost[d]! * x.shape[d]!;
      idx[d] = 0;
      d--;
    }
  }
  return out;
}

export function concat(xs: readonly TensorRef[], axis: number): TypedArray {
  const first = xs[0]!;
  const outer = sizeOf(first.shape.slice(0, axis));
  const inner = sizeOf(first.shape.slice(axis + 1));
  const total = xs.reduce((s, t) => s + t.shape[axis]!, 0);
  const out = alloc(first.dtype, outer * total * inner);
  let off = 0;
  for (const t of xs) {
    const X = arr(t);
    const chunk = t.shape[axis]! * inner;
    for (let o = 0; o < outer; o++) out.set(X.subarray(o * chunk, (o + 1) * chunk), o * total * inner + off);
    off += chunk;
  }
  return out;
}
