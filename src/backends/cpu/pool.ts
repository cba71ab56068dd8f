import type { TypedArray } from '../../dtype.js';
import type { TensorRef, WindowGeom } from '../backend.js';
import { ShapeError } from '../../errors.js';
import { alloc, arr } from './storage.js';

export function maxPool2d(x: TensorRef, g: WindowGeom): { out: TypedArray; idx: Int32Array } {
  const X = arr(x);
  const planes = g.n * g.c;
  const out = alloc(x.dtype, planes * g.oh * g.ow);
  const idx = new Int32Array(out.length);
  let o = 0;
  for (let p = 0; p < planes; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      for (let xx = 0; xx < g.ow; xx++, o++) {
        let best = -Infinity;
        let bi = -1;
        for (let i = 0; i < g.kh; i++) {
          const hy = y * g.sh - g.ph + i;
          if (hy < 0 || hy >= g.h) continue;
          for (let j = 0; j < g.kw; j++) {
            const wx = xx * g.sw - g.pw + j;
            if (wx < 0 || wx >= g.w) continue;
            const v = X[base + hy * g.w + wx]!;
            // the first max wins; a NaN wins over any number, so it is not hidden
            if (v > best || bi < 0 || (v !== v && best === best)) { best = v; bi = hy * g.w + wx; }
          }
        }
        out[o] = best;
        idx[o] = bi;
      }
    }
  }
  return { out, idx };
}

/**
 * The number of blocks K of a max-pool gather or scatter input `t` whose block shape is `block`
 * ([N, C, H, W] or [N, C, oh, ow]): 1 when t is shaped like a block, K when it is [K, ...block]
 * (Backend.poolStacks: K cotangents through the one set of indices).
 */
export function poolBlocks(op: string, t: TensorRef, block: readonly number[]): number {
  const s = t.shape;
  const same = (off: number): boolean => s.length === block.length + off && block.every((d, i) => s[i + off] === d);
  if (same(0)) return 1;
  if (same(1)) return s[0]!;
  throw new ShapeError(`${op}: the input must have shape [${block.join(', ')}] or [K, ${block.join(', ')}], got [${s.join(', ')}]`);
}

/** out[k, p, i] = x[k, p, idx[p, i]] for each block k of a stack (poolBlocks). */
export function maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): TypedArray {
  const X = arr(x);
  const I = arr(idx);
  const L = g.oh * g.ow;
  const blocks = poolBlocks('maxPoolGather', x, [g.n, g.c, g.h, g.w]);
  const inB = g.n * g.c * g.h * g.w, outB = g.n * g.c * L;
  const out = alloc(x.dtype, blocks * outB);
  for (let b = 0; b < blocks; b++) {
    for (let p = 0; p < g.n * g.c; p++) {
      const base = b * inB + p * g.h * g.w;
      for (let k = 0; k < L; k++) out[b * outB + p * L + k] = X[base + I[p * L + k]!]!;
    }
  }
  return out;
}

/** The adjoint of maxPoolGather, block by block. */
export function maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): TypedArray {
  const G = arr(gy);
  const I = arr(idx);
  const L = g.oh * g.ow;
  const blocks = poolBlocks('maxPoolScatter', gy, [g.n, g.c, g.oh, g.ow]);
  const inB = g.n * g.c * L, outB = g.n * g.c * g.h * g.w;
  const out = alloc(gy.dtype, blocks * outB);
  for (let b = 0; b < blocks; b++) {
    for (let p = 0; p < g.n * g.c; p++) {
      const base = b * outB + p * g.h * g.w;
      for (let k = 0; k < L; k++) out[base + I[p * L + k]!] += G[b * inB + p * L + k]!;
    }
  }
  return out;
}

/** Call f(o, p) for every output o (planes in order) and each pixel p of its window inside the image. */
function forEachWindowTap(g: WindowGeom, f: (o: number, p: number) => void): void {
  let o = 0;
  for (let plane = 0; plane < g.n * g.c; plane++) {
    const base = plane * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      for (let xx = 0; xx < g.ow; xx++, o++) {
        for (let i = 0; i < g.kh; i++) {
          const hy = y * g.sh - g.ph + i;
          if (hy < 0 || hy >= g.h) continue;
          for (let j = 0; j < g.kw; j++) {
            const wx = xx * g.sw - g.pw + j;
            if (wx >= 0 && wx < g.w) f(o, base + hy * g.w + wx);
          }
        }
      }
    }
  }
}

export function avgPool2d(x: TensorRef, g: WindowGeom): TypedArray {
  const X = arr(x);
  const out = alloc(x.dtype, g.n * g.c * g.oh * g.ow);
  // sums in double, rounded once: padding counts as zeros, divisor kh*kw
  const sums = new Float64Array(out.length);
  forEachWindowTap(g, (o, p) => { sums[o] += X[p]!; });
  const inv = 1 / (g.kh * g.kw);
  for (let o = 0; o < out.length; o++) out[o] = sums[o]! * inv;
  return out;
}

export function avgPool2dBackward(gy: TensorRef, g: WindowGeom): TypedArray {
  const G = arr(gy);
  const out = alloc(gy.dtype, g.n * g.c * g.h * g.w);
  const inv = 1 / (g.kh * g.kw);
  forEachWindowTap(g, (o, p) => { out[p] += G[o]! * inv; });
  return out;
}
