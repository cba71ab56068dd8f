import { ArgumentError, ShapeError, fmtShape } from './errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: shape entries must be non-negative integers, got ${fmtShape(shape)}`);
    }
  }
}

/** NumPy broadcasting of two shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides to read an input of shape `inShape` as if broadcast to `outShape` (0 on broadcast dims).
 * `outShape` must be a broadcast of `inShape`.
 */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const st = stridesOf(inShape);
  const off = outShape.length - inShape.length;
  const r = new Array<number>(outShape.length).fill(0);
  for (let i = 0; i < inShape.length; i++) r[i + off] = inShape[i] === 1 ? 0 : st[i]!;
  return r;
}

/** Normalize possibly negative axes; check range and duplicates. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out: number[] = [];
  for (const a of list) {
    if (!Number.isInteger(a) || a < -rank || a >= Math.max(rank, 1)) {
      throw new ArgumentError(`${op}: axis ${a} is out of range for a tensor of rank ${rank}`);
    }
    const p = a < 0 ? a + rank : a;
    if (out.includes(p)) throw new ArgumentError(`${op}: axis ${a} given twice`);
    out.push(p);
  }
  return out.sort((x, y) => x - y);
}

export function normAxis(op: string, axis: number, rank: number): number {
  return normAxes(op, axis, rank)[0]!;
}

/** Shape with `axes` set to 1 (keepDims form of a reduction). */
export function reducedShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Axes (of `outShape`) along which a tensor of `inShape` was broadcast to `outShape`. */
export function broadcastAxes(inShape: Shape, outShape: Shape): number[] {
  const off = outShape.length - inShape.length;
  const axes: number[] = [];
  for (let i = 0; i < outShape.length; i++) {
    if (i < off || (inShape[i - off] === 1 && outShape[i] !== 1)) axes.push(i);
  }
  return axes;
}
