// Pooling: max with indices, the gather/scatter pair over those indices, average and its adjoint.
// Every kernel writes one output element per call; the adjoints are gathers over the windows
// that contain a pixel, so no atomics and a fixed summation order.
#pragma once
#include "conv.cuh"

namespace gr {

/** Max over each window; idx is the flat h*W + w of the first maximum, or of the first NaN (which wins). */
template <class T> struct MaxPool2dFn {
  Window g;
  const T* x;
  T* out;
  int32_t* idx;
  GR_HD void operator()(idx_t o) const {
    QR xt = divmod(o, g.ow), yp = divmod(xt.q, g.oh);
    idx_t xx = xt.r, yy = yp.r, p = yp.q;
    const T* plane = x + p * g.h * g.w;
    double best = -INFINITY;
    idx_t bi = -1;
    for (idx_t i = 0; i < g.kh; ++i) {
      idx_t hy = yy * g.sh - g.ph + i;
      if (hy < 0 || hy >= g.h) continue;
      for (idx_t j = 0; j < g.kw; ++j) {
        idx_t wx = xx * g.sw - g.pw + j;
        if (wx < 0 || wx >= g.w) continue;
        double v = (double)plane[hy * g.w + wx];
        if (v > best || bi < 0 || (is_nan(v) && !is_nan(best))) {
          best = v;
          bi = hy * g.w + wx;
        }
      }
    }
    out[o] = Store<T>::from(best);
    idx[o] = (int32_t)bi;
  }
};

/** out[p, k] = x[p, idx[p, k]] over planes p = n*C + c. */
template <class T> struct MaxPoolGatherFn {
  Window g;
  const T* x;
  const int32_t* idx;
  T* out;
  GR_HD void operator()(idx_t o) const {
    idx_t p = divmod(o, g.oh * g.ow).q;
    int32_t k = idx[o];
    out[o] = k >= 0 ? x[p * g.h * g.w + k] : T(0);
  }
};

/**
 * The adjoint of MaxPoolGatherFn, as a gather: pixel (h, w) sums gy over the windows that contain it
 * and chose it. Indices must come from MaxPool2dFn with the same geometry (each one lies inside its
 * own window), which is how the op layer produces them.
 */
template <class T> struct MaxPoolScatterFn {
  Window g;
  const T* gy;
  const int32_t* idx;
  T* out;
  GR_HD void operator()(idx_t o) const {
    QR wt = divmod(o, g.w), hp = divmod(wt.q, g.h);
    idx_t w = wt.r, h = hp.r, p = hp.q;
    idx_t L = g.oh * g.ow, pos = h * g.w + w;
    double s = 0;
    for (idx_t i = 0; i < g.kh; ++i) {
      for (idx_t j = 0; j < g.kw; ++j) {
        idx_t y, x;
        if (!window_hit(g, h, w, i, j, &y, &x)) continue;
        idx_t k = p * L + y * g.ow + x;
        if (idx[k] == pos) s += (double)gy[k];
      }
    }
    out[o] = Store<T>::from(s);
  }
};

/** Average over each window; padding counts as zeros (divisor kh*kw). */
template <class T> struct AvgPool2dFn {
  Window g;
  const T* x;
  T* out;
  GR_HD void operator()(idx_t o) const {
    QR xt = divmod(o, g.ow), yp = divmod(xt.q, g.oh);
    idx_t xx = xt.r, yy = yp.r, p = yp.q;
    const T* plane = x + p * g.h * g.w;
    double s = 0;
    for (idx_t i = 0; i < g.kh; ++i) {
      idx_t hy = yy * g.sh - g.ph + i;
      if (hy < 0 || hy >= g.h) continue;
      for (idx_t j = 0; j < g.kw; ++j) {
        idx_t wx = xx * g.sw - g.pw + j;
        if (wx >= 0 && wx < g.w) s += (double)plane[hy * g.w + wx];
      }
    }
    out[o] = Store<T>::from(s * (1.0 / (double)(g.kh * g.kw)));
  }
};

/** The adjoint of AvgPool2dFn as a gather over the windows containing each pixel. */
template <class T> struct AvgPool2dBackwardFn {
  Window g;
  const T* gy;
  T* out;
  GR_HD void operator()(idx_t o) const {
    QR wt = divmod(o, g.w), hp = divmod(wt.q, g.h);
    idx_t w = wt.r, h = hp.r, p = hp.q;
    idx_t L = g.oh * g.ow;
    double inv = 1.0 / (double)(g.kh * g.kw);
    double s = 0;
    for (idx_t i = 0; i < g.kh; ++i) {
      for (idx_t j = 0; j < g.kw; ++j) {
        idx_t y, x;
        if (window_hit(g, h, w, i, j, &y, &x)) s += (double)gy[p * L + y * g.ow + x] * inv;
      }
    }
    out[o] = Store<T>::from(s);
  }
};

}  // namespace gr
