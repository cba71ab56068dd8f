/**
 * Shape and layout ops. They come in adjoint pairs, each the other's backward:
 * reshape/reshape, permute/inverse permute, broadcastTo/sumTo, slice/pad, concat/slices.
 */
import { checkDType, isFloat, type DType } from '../dtype.js';
import { ArgumentError, DTypeError, ShapeError, fmtShape } from '../errors.js';
import { normAxis, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { backendFor, backendOf, record, view, wrap } from './core.js';
import { broadcastTo, reshape } from './broadcast.js';

export { broadcastTo, reshape };

/** Keep dim 0 (batch), flatten the rest: [N, ...] -> [N, prod(...)]. */
export function flatten(x: Tensor, startDim = 1): Tensor {
  const a = normAxis('flatten', startDim, x.rank);
  return reshape(x, [...x.shape.slice(0, a), sizeOf(x.shape.slice(a))]);
}

export function expandDims(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.rank + 1 : axis;
  if (a < 0 || a > x.rank) throw new ArgumentError(`expandDims: axis ${axis} out of range for rank ${x.rank}`);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

export function squeeze(x: Tensor, axes?: number[]): Tensor {
  const drop = axes === undefined ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : axes.map((a) => normAxis('squeeze', a, x.rank));
  for (const a of drop) {
    if (x.shape[a] !== 1) throw new ShapeError(`squeeze: dim ${a} of ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  }
  return reshape(x, x.shape.filter((_, i) => !drop.includes(i)));
}

/** Reorder dims: output dim i is input dim perm[i]. */
// d permute(x, p) = permute(g, p^-1)
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const be = backendOf('permute', x);
  if (perm.length !== x.rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new ArgumentError(`permute: [${perm.join(',')}] is not a permutation of the ${x.rank} dims of ${fmtShape(x.shape)}`);
  }
  if (perm.every((p, i) => p === i)) return reshape(x, x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const y = wrap(be, be.permute(x, perm), shape, x.dtype);
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return record(y, 'permute', [x], (g) => [permute(g, inv)]);
}

/** Reverse the dims (the matrix transpose for rank 2), or permute by `perm`. */
export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  return permute(x, perm ?? x.shape.map((_, i) => x.rank - 1 - i));
}

/** x[begin : begin + size] along each dim; a size of -1 means "to the end". */
// d slice(x) = pad(g) with zeros back to x's shape
export function slice(x: Tensor, begin: readonly number[], size?: readonly number[]): Tensor {
  const be = backendOf('slice', x);
  if (begin.length !== x.rank || (size && size.length !== x.rank)) {
    throw new ShapeError(`slice: begin/size must have ${x.rank} entries for shape ${fmtShape(x.shape)}, got [${begin}] / [${size ?? ''}]`);
  }
  const sz = begin.map((b, d) => (size === undefined || size[d] === -1 ? x.shape[d]! - b : size[d]!));
  for (let d = 0; d < x.rank; d++) {
    if (!Number.isInteger(begin[d]) || begin[d]! < 0 || sz[d]! < 0 || begin[d]! + sz[d]! > x.shape[d]!) {
      throw new ShapeError(`slice: begin [${begin}] size [${sz}] is out of bounds for shape ${fmtShape(x.shape)}`);
    }
  }
  const y = wrap(be, be.slice(x, begin, sz), sz, x.dtype);
  const after = x.shape.map((d, i) => d - begin[i]! - sz[i]!);
  return record(y, 'slice', [x], (g) => [padRaw(g, begin, after, 0)]);
}

function padRaw(x: Tensor, before: readonly number[], after: readonly number[], value: number): Tensor {
  const be = backendOf('pad', x);
  for (let d = 0; d < x.rank; d++) {
    if (!Number.isInteger(before[d]) || !Number.isInteger(after[d]) || before[d]! < 0 || after[d]! < 0) {
      throw new ArgumentError(`pad: paddings must be non-negative integers, got before [${before}] after [${after}]`);
    }
  }
  const shape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const y = wrap(be, be.pad(x, before, after, value), shape, x.dtype);
  const sz = [...x.shape];
  // d pad(x) = slice(g) back to x's window
  return record(y, 'pad', [x], (g) => [slice(g, before, sz)]);
}

/** Pad each dim d with paddings[d] = [before, after] entries of `value`. */
// d pad(x) = slice(g) back to x's window
export function pad(x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor {
  if (paddings.length !== x.rank) {
    throw new ShapeError(`pad: expected ${x.rank} [before, after] pairs for shape ${fmtShape(x.shape)}, got ${paddings.length}`);
  }
  return padRaw(x, paddings.map((p) => p[0]), paddings.map((p) => p[1]), value);
}

// d concat(xs) = the matching slices of g
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (xs.length === 0) throw new ArgumentError('concat: needs at least one tensor');
  const first = xs[0]!;
  const be = backendOf('concat', ...xs);
  const a = normAxis('concat', axis, first.rank);
  for (const t of xs) {
    if (t.dtype !== first.dtype) throw new DTypeError(`concat: all inputs must share a dtype, got ${first.dtype} and ${t.dtype}`);
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${fmtShape(first.shape)} and ${fmtShape(t.shape)} differ outside axis ${a}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = xs.reduce((s, t) => s + t.shape[a]!, 0);
  const y = wrap(be, be.concat(xs, a), shape, first.dtype);
  return record(y, 'concat', [...xs], (g) => {
    let off = 0;
    return xs.map((t) => {
      const begin = t.shape.map((_, i) => (i === a ? off : 0));
      off += t.shape[a]!;
      return slice(g, begin, t.shape);
    });
  });
}

export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  return concat(xs.map((t) => expandDims(t, axis)), axis);
}

/** Convert dtype. Float-to-float casts pass the gradient through (cast back); int casts cut it. */
export function cast(x: Tensor, dtype: DType): Tensor {
  backendOf('cast', x);
  checkDType('cast', dtype);
  const be = backendFor('cast', x.device, dtype);
  if (dtype === x.dtype) return reshape(x, x.shape);
  const y = wrap(be, be.cast(x, dtype), x.shape, dtype);
  if (!isFloat(dtype) || !isFloat(x.dtype)) return y;
  const from = x.dtype;
  // d cast(x) = cast(g, x.dtype)
  return record(y, 'cast', [x], (g) => [cast(g, from)]);
}

/** The same values with no gradient history (a constant for autograd). */
export function detach(x: Tensor): Tensor {
  return view(x, x.shape);
}

/** Copy to another device (through the host); the copy is a constant for autograd. */
export async function toDevice(x: Tensor, device: Tensor['device']): Promise<Tensor> {
  x.live('toDevice');
  const be = backendFor('toDevice', device, x.dtype);
  const host = await x.data();
  const y = wrap(be, be.upload(host), x.shape, x.dtype);
  return y;
}
