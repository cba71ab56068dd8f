import type { TypedArray } from '../../dtype.js';
import type { TensorRef, WindowGeom } from '../backend.js';
import { alloc, arr } from './storage.js';

/**
 * Call f(o, p) for every pair im2col copies: entry o of the columns [N, C*kh*kw, oh*ow] (row
 * (c*kh + i)*kw + j, column y*ow + x) and pixel p of the image [N, C, H, W] it reads; taps that
 * fall in the zero padding are skipped.
 */
function forEachTap(g: WindowGeom, f: (o: number, p: number) => void): void {
  const L = g.oh * g.ow;
  const rows = g.c * g.kh * g.kw;
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const plane = (n * g.c + c) * g.h * g.w;
      for (let i = 0; i < g.kh; i++) {
        for (let j = 0; j < g.kw; j++) {
          const row = (c * g.kh + i) * g.kw + j;
          let o = (n * rows + row) * L;
          for (let y = 0; y < g.oh; y++) {
            const hy = y * g.sh - g.ph + i;
            if (hy < 0 || hy >= g.h) { o += g.ow; continue; }
            const rowBase = plane + hy * g.w;
            for (let xx = 0; xx < g.ow; xx++, o++) {
              const wx = xx * g.sw - g.pw + j;
              if (wx >= 0 && wx < g.w) f(o, rowBase + wx);
            }
          }
        }
      }
    }
  }
}

/** [N,C,H,W] -> [N, C*kh*kw, oh*ow]; row (c*kh + i)*kw + j, column y*ow + x; zero outside the image. */
export function im2col(x: TensorRef, g: WindowGeom): TypedArray {
  const X = arr(x);
  const out = alloc(x.dtype, g.n * g.c * g.kh * g.kw * g.oh * g.ow);
  forEachTap(g, (o, p) => { out[o] = X[p]!; });
  return out;
}

/** The adjoint of im2col: scatter-add columns back into the image. */
export function col2im(cols: TensorRef, g: WindowGeom): TypedArray {
  const Cm = arr(cols);
  const out = alloc(cols.dtype, g.n * g.c * g.h * g.w);
  forEachTap(g, (o, p) => { out[p] += Cm[o]!; });
  return out;
}
