import type { TypedArray } from '../../dtype.js';
import type { TensorRef, WindowGeom } from '../backend.js';
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

export function maxPoolGather(x: TensorRef, idx: TensorRef, g: WindowGeom): TypedArray {
  const X = arr(x);
  const I = arr(idx);
  const L = g.oh * g.ow;
  const out = alloc(x.dtype, g.n * g.c * L);
  for (let p = 0; p < g.n * g.c; p++) {
    const base = p * g.h * g.w;
    for (let k = 0; k < L; k++) out[p * L + k] = X[base + I[p * L + k]!]!;
  }
  return out;
}

export function maxPoolScatter(gy: TensorRef, idx: TensorRef, g: WindowGeom): TypedArray {
  const G = arr(gy);
  const I = arr(idx);
  const L = g.oh * g.ow;
  const out = alloc(gy.dtype, g.n * g.c * g.h * g.w);
  for (let p = 0; p < g.n * g.c; p++) {
    const base = p * g.h * g.w;
    for (let k = 0; k < L; k++) out[base + I[p * L + k]!] += G[p * L + k]!;
  }
  return out;
}

export function avgPool2d(x: TensorRef, g: WindowGeom): TypedArray {
  const X = arr(x);
  const out = alloc(x.dtype, g.n * g.c * g.oh * g.ow);
  const inv = 1 / (g.kh * g.kw);
  let o = 0;
  for (let p = 0; p < g.n * g.c; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      for (let xx = 0; xx < g.ow; xx++, o++) {
        let s = 0;
        for (let i = 0; i < g.kh; i++) {
          const hy = y * g.sh - g.ph + i;
          if (hy < 0 || hy >= g.h) continue;
          for (let j = 0; j < g.kw; j++) {
            const wx = xx * g.sw - g.pw + j;
            if (wx >= 0 && wx < g.w) s += X[base + hy * g.w + wx]!;
          }
        }
        out[o] = s * inv;
      }
    }
  }
  return out;
}

export function avgPool2dBackward(gy: TensorRef, g: WindowGeom): TypedArray {
  const G = arr(gy);
  const out = alloc(gy.dtype, g.n * g.c * g.h * g.w);
  const inv = 1 / (g.kh * g.kw);
  let o = 0;
  for (let p = 0; p < g.n * g.c; p++) {
    const base = p * g.h * g.w;
    for (let y = 0; y < g.oh; y++) {
      for (let xx = 0; xx < g.ow; xx++, o++) {
        const v = G[o]! * inv;
        for (let i = 0; i < g.kh; i++) {
          const hy = y * g.sh - g.ph + i;
          if (hy < 0 || hy >= g.h) continue;
          for (let j = 0; j < g.kw; j++) {
            const wx = xx * g.sw - g.pw + j;
            if (wx >= 0 && wx < g.w) out[base + hy * g.w + wx] += v;
          }
        }
      }
    }
  }
  return out;
}
