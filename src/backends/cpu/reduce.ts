import type { TypedArray } from '../../dtype.js';
import type { ArgReduceOp, ReduceOp, TensorRef } from '../backend.js';
import { reducedShape, sizeOf, stridesOf } from '../../shape.js';
import { alloc, arr } from './storage.js';

/**
 * Reduce over `axes` by walking the input once and mapping each element to its output slot
 * (output strides are 0 along reduced axes). Sums accumulate in float64.
 */
export function reduce(op: ReduceOp, x: TensorRef, axes: readonly number[]): TypedArray {
  const X = arr(x);
  const shape = x.shape;
  const oshape = reducedShape(shape, axes);
  const on = sizeOf(oshape);
  const acc = new Float64Array(on).fill(op === 'sum' ? 0 : op === 'max' ? -Infinity : Infinity);
  const ostr = stridesOf(oshape).map((s, i) => (axes.includes(i) ? 0 : s));
  const r = shape.length;
  const n = X.length;
  if (r === 0 || n === 0) {
    if (n === 1) acc[0] = X[0]!;
  } else if (axes.length === 1 && axes[0] === r - 1) {
    // Contiguous rows: the common case (softmax-like reductions, per-sample sums).
    const cols = shape[r - 1]!;
    for (let row = 0; row < on; row++) {
      let a = acc[row]!;
      const base = row * cols;
      if (op === 'sum') for (let j = 0; j < cols; j++) a += X[base + j]!;
      else if (op === 'max') for (let j = 0; j < cols; j++) { const v = X[base + j]!; if (v > a || v !== v) a = v; }
      else for (let j = 0; j < cols; j++) { const v = X[base + j]!; if (v < a || v !== v) a = v; }
      acc[row] = a;
    }
  } else {
    const idx = new Array<number>(r).fill(0);
    let o = 0;
    const last = shape[r - 1]!;
    const ls = ostr[r - 1]!;
    let i = 0;
    while (i < n) {
      let oo = o;
      for (let k = 0; k < last; k++, i++, oo += ls) {
        const v = X[i]!;
        if (op === 'sum') acc[oo] += v;
        else if (op === 'max') { if (v > acc[oo]! || v !== v) acc[oo] = v; }
        else if (v < acc[oo]! || v !== v) acc[oo] = v;
      }
      let d = r - 2;
      while (d >= 0) {
        idx[d]!++;
        o += ostr[d]!;
        if (idx[d]! < shape[d]!) break;
        o -= ostr[d]! * shape[d]!;
        idx[d] = 0;
        d--;
      }
    }
  }
  const out = alloc(x.dtype, on);
  out.set(acc);
  return out;
}

export function argReduce(op: ArgReduceOp, x: TensorRef, axis: number): TypedArray {
  const X = arr(x);
  const shape = x.shape;
  const outer = sizeOf(shape.slice(0, axis));
  const len = shape[axis]!;
  const inner = sizeOf(shape.slice(axis + 1));
  const out = new Int32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      let best = X[o * len * inner + j]!;
      let bi = 0;
      for (let k = 1; k < len; k++) {
        const v = X[(o * len + k) * inner + j]!;
        // the first extremum wins; a NaN counts as the extremum, as in max/min
        if ((op === 'argmax' ? v > best : v < best) || (v !== v && best === best)) { best = v; bi = k; }
      }
      out[o * inner + j] = bi;
    }
  }
  return out;
}
