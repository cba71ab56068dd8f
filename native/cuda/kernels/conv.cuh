// im2col and its adjoint col2im, both as gathers (one output element per call, no atomics).
#pragma once
#include "common.cuh"

namespace gr {

/** Geometry of a 2-D sliding window over NCHW input; mirrors WindowGeom in backend.ts. */
struct Window {
  idx_t n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
};

/** [N, C, H, W] -> [N, C*kh*kw, oh*ow]; row (c*kh + i)*kw + j, column y*ow + x; zero outside the image. */
template <class T> struct Im2colFn {
  Window g;
  const T* x;
  T* out;
  GR_HD void operator()(idx_t o) const {
    idx_t L = g.oh * g.ow, rows = g.c * g.kh * g.kw;
    QR lt = divmod(o, L), rn = divmod(lt.q, rows), ji = divmod(rn.r, g.kw), ic = divmod(ji.q, g.kh), yx = divmod(lt.r, g.ow);
    idx_t n = rn.q, c = ic.q, i = ic.r, j = ji.r, yy = yx.q, xx = yx.r;
    idx_t hy = yy * g.sh - g.ph + i, wx = xx * g.sw - g.pw + j;
    bool inside = hy >= 0 && hy < g.h && wx >= 0 && wx < g.w;
    out[o] = inside ? x[((n * g.c + c) * g.h + hy) * g.w + wx] : T(0);
  }
};

/**
 * The output positions (y, x) whose window puts kernel tap (i, j) on image pixel (h, w):
 * h = y*sh - ph + i. Returns false when there is none.
 */
GR_HD bool window_hit(const Window& g, idx_t h, idx_t w, idx_t i, idx_t j, idx_t* y, idx_t* x) {
  idx_t ty = h + g.ph - i, tx = w + g.pw - j;
  if (ty < 0 || tx < 0) return false;
  QR qy = divmod(ty, g.sh), qx = divmod(tx, g.sw);
  if (qy.r != 0 || qx.r != 0) return false;
  *y = qy.q;
  *x = qx.q;
  return *y < g.oh && *x < g.ow;
}

/** The adjoint of im2col as a gather: each pixel sums the column entries that read it, taps in (i, j) order. */
template <class T> struct Col2imFn {
  Window g;
  const T* cols;
  T* out;
  GR_HD void operator()(idx_t o) const {
    QR wt = divmod(o, g.w), ht = divmod(wt.q, g.h), cn = divmod(ht.q, g.c);
    idx_t w = wt.r, h = ht.r, c = cn.r, n = cn.q;
    idx_t L = g.oh * g.ow, rows = g.c * g.kh * g.kw;
    double s = 0;
    for (idx_t i = 0; i < g.kh; ++i) {
      for (idx_t j = 0; j < g.kw; ++j) {
        idx_t y, x;
        if (!window_hit(g, h, w, i, j, &y, &x)) continue;
        s += (double)cols[(n * rows + (c * g.kh + i) * g.kw + j) * L + y * g.ow + x];
      }
    }
    out[o] = Store<T>::from(s);
  }
};

}  // namespace gr
