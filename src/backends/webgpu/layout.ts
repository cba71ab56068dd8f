/**
 * Layout kernels on raw words: permute, broadcastTo, slice (strided gathers), pad and concat (a fill and
 * strided places). Copies that are contiguous on both sides become buffer-to-buffer copies.
 */
import type { DType } from '../../dtype.js';
import type { Storage, TensorRef } from '../backend.js';
import { broadcastStrides, sizeOf, stridesOf, type Shape } from '../../shape.js';
import { coalesce } from './plan.js';
import { dimsWords, strided, Words } from './launch.js';
import { kernel, type GpuStorage, type Runtime } from './runtime.js';
import { fillWords } from './fill.js';

const K_COPY = kernel('layout', 'strided_copy', 'rw');

/** out[i] = src[base + offset(i)] for `shape` read through `srcStrides`. */
function gatherInto(rt: Runtime, src: Storage, out: Storage, shape: Shape, srcStrides: readonly number[], base: number): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const c = coalesce(shape, [stridesOf(shape), srcStrides]);
  if (c.shape.length === 1 && c.strides[1]![0] === 1) {
    rt.copy(rt.buf(src), base * 4, rt.buf(out), 0, n * 4);
    return;
  }
  const ops = [
    { strides: c.strides[1]!, base, length: src.length },
    { strides: c.strides[0]!, base: 0, length: out.length },
  ];
  strided(rt, K_COPY, { PLACE: false }, [src, out], c.shape, ops, (ch, cnt) =>
    dimsWords(new Words().u32(cnt, ch.bases[1]!, ch.bases[0]!, ch.shape.length), ch.shape).vec(ch.strides[0]!, 2).done(),
  );
}

/** out[base + offset(i)] = src[i] for dense `src` of `shape` written through `outStrides`. */
function placeInto(rt: Runtime, src: Storage, out: Storage, shape: Shape, outStrides: readonly number[], base: number): void {
  const n = sizeOf(shape);
  if (n === 0) return;
  const c = coalesce(shape, [stridesOf(shape), outStrides]);
  if (c.shape.length === 1 && c.strides[1]![0] === 1) {
    rt.copy(rt.buf(src), 0, rt.buf(out), base * 4, n * 4);
    return;
  }
  const ops = [
    { strides: c.strides[0]!, base: 0, length: src.length },
    { strides: c.strides[1]!, base, length: out.length },
  ];
  strided(rt, K_COPY, { PLACE: true }, [src, out], c.shape, ops, (ch, cnt) =>
    dimsWords(new Words().u32(cnt, ch.bases[0]!, ch.bases[1]!, ch.shape.length), ch.shape).vec(ch.strides[1]!, 2).done(),
  );
}

export function permute(rt: Runtime, x: TensorRef, perm: readonly number[]): GpuStorage {
  const st = stridesOf(x.shape);
  const shape = perm.map((p) => x.shape[p]!);
  const out = rt.alloc(sizeOf(shape), x.dtype);
  gatherInto(rt, x.storage, out, shape, perm.map((p) => st[p]!), 0);
  return out;
}

export function broadcastTo(rt: Runtime, x: TensorRef, outShape: Shape): GpuStorage {
  const out = rt.alloc(sizeOf(outShape), x.dtype);
  gatherInto(rt, x.storage, out, outShape, broadcastStrides(x.shape, outShape), 0);
  return out;
}

export function slice(rt: Runtime, x: TensorRef, begin: readonly number[], size: readonly number[]): GpuStorage {
  const st = stridesOf(x.shape);
  let base = 0;
  for (let d = 0; d < begin.length; d++) base += begin[d]! * st[d]!;
  const out = rt.alloc(sizeOf(size), x.dtype);
  gatherInto(rt, x.storage, out, size, st, base);
  return out;
}

function valueBits(value: number, dtype: DType): number {
  if (dtype === 'int32') return value | 0;
  return new Uint32Array(new Float32Array([value]).buffer)[0]!;
}

export function pad(rt: Runtime, x: TensorRef, before: readonly number[], after: readonly number[], value: number): GpuStorage {
  const oshape = x.shape.map((d, i) => d + before[i]! + after[i]!);
  const n = sizeOf(oshape);
  const out = rt.alloc(n, x.dtype);
  if (n > sizeOf(x.shape)) fillWords(rt, out, n, valueBits(value, x.dtype));
  const ost = stridesOf(oshape);
  let base = 0;
  for (let d = 0; d < before.length; d++) base += before[d]! * ost[d]!;
  placeInto(rt, x.storage, out, x.shape, ost, base);
  return out;
}

export function concat(rt: Runtime, xs: readonly TensorRef[], axis: number): GpuStorage {
  const first = xs[0]!;
  const oshape = [...first.shape];
  oshape[axis] = xs.reduce((s, t) => s + t.shape[axis]!, 0);
  const out = rt.alloc(sizeOf(oshape), first.dtype);
  const ost = stridesOf(oshape);
  let off = 0;
  for (const t of xs) {
    placeInto(rt, t.storage, out, t.shape, ost, off * ost[axis]!);
    off += t.shape[axis]!;
  }
  return out;
}
