/**
 * Splitting work to fit the device's limits. A storage binding may cover at most
 * `maxStorageBufferBindingSize` bytes (128 MiB on lavapipe), but a tensor may be larger (an eval
 * batch of 10000 MNIST images makes a 1.4 GB im2col matrix), so a kernel binds windows of its
 * buffers and runs once per window. Window starts are rounded down to the offset alignment and the
 * remainder is passed to the shader as a shift. Pure functions, tested on the cpu.
 */
import { DeviceError } from '../../errors.js';
import { sizeOf } from '../../shape.js';

export interface Limits {
  /** Most elements (32-bit words) one binding may cover, a multiple of `align`. */
  maxElems: number;
  /** Binding offset alignment in elements. */
  align: number;
}

export interface Window {
  /** First element of the binding (a multiple of `align`). */
  start: number;
  /** Elements bound. */
  length: number;
}

/**
 * Drop size-1 dims and merge neighbours that every operand walks contiguously
 * (stride[d] == stride[d+1] * shape[d+1]). The result has rank >= 1.
 */
export function coalesce(shape: readonly number[], strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const keep = shape.map((d, i) => (d !== 1 ? i : -1)).filter((i) => i >= 0);
  let sh = keep.map((i) => shape[i]!);
  let st = strides.map((s) => keep.map((i) => s[i]!));
  if (sh.length === 0) return { shape: [1], strides: strides.map(() => [0]) };
  const outShape: number[] = [sh[0]!];
  const outStrides = st.map((s) => [s[0]!]);
  for (let d = 1; d < sh.length; d++) {
    const last = outShape.length - 1;
    const n = sh[d]!;
    if (st.every((s, j) => outStrides[j]![last] === s[d]! * n)) {
      outShape[last] = outShape[last]! * n;
      st.forEach((s, j) => (outStrides[j]![last] = s[d]!));
    } else {
      outShape.push(n);
      st.forEach((s, j) => outStrides[j]!.push(s[d]!));
    }
  }
  sh = outShape;
  st = outStrides;
  return { shape: sh, strides: st };
}

/** Split [0, n) into ranges that each fit one binding (starts stay aligned). */
export function linearChunks(n: number, lim: Limits): { start: number; length: number }[] {
  const step = Math.max(lim.align, Math.floor(lim.maxElems / lim.align) * lim.align);
  const out: { start: number; length: number }[] = [];
  for (let s = 0; s < n; s += step) out.push({ start: s, length: Math.min(step, n - s) });
  if (out.length === 0) out.push({ start: 0, length: 0 });
  return out;
}

export interface StridedOperand {
  /** Element strides over the iteration shape (0 on broadcast dims). */
  strides: readonly number[];
  /** Element offset of index 0. */
  base: number;
  /** Elements in the operand's buffer. */
  length: number;
}

export interface StridedChunk {
  /** Iteration shape of this chunk (the trailing dims of the full shape, the first one cut). */
  shape: number[];
  /** Strides of each operand over `shape`. */
  strides: number[][];
  /** Per operand: the bound window and the offset of the chunk's index 0 inside it. */
  windows: Window[];
  bases: number[];
}

/** Extent (max offset + 1) of one index of dim k and everything after it. */
function spanAfter(shape: readonly number[], strides: readonly number[], k: number): number {
  let s = 1;
  for (let d = k + 1; d < shape.length; d++) s += (shape[d]! - 1) * strides[d]!;
  return s;
}

/**
 * Chunks of an iteration space walked by several strided operands such that every operand that
 * does not fit a binding is bound through a window that does. Operands that fit are bound whole.
 */
export function planStrided(shape: readonly number[], ops: readonly StridedOperand[], lim: Limits): StridedChunk[] {
  const r = shape.length;
  const big = ops.map((o) => o.length > lim.maxElems);
  if (!big.some((b) => b)) {
    return [{ shape: [...shape], strides: ops.map((o) => [...o.strides]), windows: ops.map((o) => ({ start: 0, length: o.length })), bases: ops.map((o) => o.base) }];
  }
  const budget = lim.maxElems - lim.align;
  let k = 0;
  while (k < r - 1 && !ops.every((o, j) => !big[j] || spanAfter(shape, o.strides, k) <= budget)) k++;
  let rows = shape[k]!;
  ops.forEach((o, j) => {
    if (!big[j]) return;
    const span = spanAfter(shape, o.strides, k);
    const t = o.strides[k]!;
    if (span > budget) throw new DeviceError(`webgpu: one element span of ${span} words exceeds the binding limit`);
    if (t > 0) rows = Math.min(rows, Math.floor((budget - span) / t) + 1);
  });
  rows = Math.max(1, rows);
  const outer = shape.slice(0, k);
  const nPrefix = sizeOf(outer);
  const chunks: StridedChunk[] = [];
  const idx = new Array<number>(k).fill(0);
  for (let p = 0; p < nPrefix; p++) {
    for (let a = 0; a < shape[k]!; a += rows) {
      const cnt = Math.min(rows, shape[k]! - a);
      const cshape = [cnt, ...shape.slice(k + 1)];
      const windows: Window[] = [];
      const bases: number[] = [];
      ops.forEach((o, j) => {
        let start = o.base + a * o.strides[k]!;
        for (let d = 0; d < k; d++) start += idx[d]! * o.strides[d]!;
        if (!big[j]) {
          windows.push({ start: 0, length: o.length });
          bases.push(start);
          return;
        }
        const ws = Math.floor(start / lim.align) * lim.align;
        const need = start - ws + (cnt - 1) * o.strides[k]! + spanAfter(shape, o.strides, k);
        windows.push({ start: ws, length: Math.min(o.length - ws, need) });
        bases.push(start - ws);
      });
      chunks.push({ shape: cshape, strides: ops.map((o) => o.strides.slice(k)), windows, bases });
    }
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d]! < outer[d]!) break;
      idx[d] = 0;
    }
  }
  return chunks;
}

export interface BatchOperand {
  /** Elements per batch item (0: the operand does not scale with the batch and is bound whole). */
  perItem: number;
  /** Elements in the buffer. */
  length: number;
}

export interface BatchChunk {
  first: number;
  count: number;
  windows: Window[];
  /** Offset of item `first` inside each window. */
  shifts: number[];
}

/** Split a leading batch dimension of `items` so that every operand's window fits a binding. */
export function batchChunks(items: number, ops: readonly BatchOperand[], lim: Limits, what: string): BatchChunk[] {
  const budget = lim.maxElems - lim.align;
  let per = Math.max(1, items);
  ops.forEach((o) => {
    if (o.perItem > 0 && o.length > lim.maxElems) {
      if (o.perItem > budget) {
        throw new DeviceError(`${what}: one batch item needs ${o.perItem * 4} bytes, more than the device binding limit of ${lim.maxElems * 4}`);
      }
      per = Math.min(per, Math.floor(budget / o.perItem));
    }
  });
  const chunks: BatchChunk[] = [];
  for (let first = 0; first < Math.max(items, 1); first += per) {
    const count = Math.min(per, items - first);
    const windows: Window[] = [];
    const shifts: number[] = [];
    for (const o of ops) {
      if (o.perItem === 0 || o.length <= lim.maxElems) {
        windows.push({ start: 0, length: o.length });
        shifts.push(first * o.perItem);
        continue;
      }
      const start = first * o.perItem;
      const ws = Math.floor(start / lim.align) * lim.align;
      windows.push({ start: ws, length: Math.min(o.length - ws, start - ws + count * o.perItem) });
      shifts.push(start - ws);
    }
    chunks.push({ first, count, windows, shifts });
    if (items === 0) break;
  }
  return chunks;
}
