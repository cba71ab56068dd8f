// The softmax family over the rows of [rows, cols]: softmax, logSoftmax, the softmax Hessian
// product, cross-entropy and its fused gradient, and oneHot. Each parallelizes over rows.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "dtype_dispatch.h"
#include "nditer.h"

namespace gr {
namespace {

// Math.max semantics: NaN wins.
inline double nan_max(double a, double v) { return (v > a || v != v) ? v : a; }

inline long row_grain(long cols) { return cols >= 4096 ? 1 : 4096 / (cols > 0 ? cols : 1); }

template <class T>
void softmax_t(const T* x, T* out, long rows, long cols, bool log) {
  parallel_for(rows, row_grain(cols), [&](long b, long e) {
    for (long r = b; r < e; r++) {
      const T* p = x + r * cols;
      T* o = out + r * cols;
      double mx = -std::numeric_limits<double>::infinity();
      for (long j = 0; j < cols; j++) mx = nan_max(mx, static_cast<double>(p[j]));
      double s = 0;
      if (log) {
        for (long j = 0; j < cols; j++) s += std::exp(p[j] - mx);
        const double lse = mx + std::log(s);
        for (long j = 0; j < cols; j++) o[j] = static_cast<T>(p[j] - lse);
      } else {
        // The reference sums the exponentials in double but normalizes their stored (rounded) values.
        for (long j = 0; j < cols; j++) {
          const double ev = std::exp(p[j] - mx);
          o[j] = static_cast<T>(ev);
          s += ev;
        }
        const double inv = 1.0 / s;
        for (long j = 0; j < cols; j++) o[j] = static_cast<T>(o[j] * inv);
      }
    }
  });
}

template <class T>
void softmax_hvp_t(const T* p, const T* v, T* out, long rows, long cols) {
  parallel_for(rows, row_grain(cols), [&](long b, long e) {
    for (long r = b; r < e; r++) {
      const T* pp = p + r * cols;
      const T* pv = v + r * cols;
      double d = 0;
      for (long j = 0; j < cols; j++) d += static_cast<double>(pp[j]) * pv[j];
      for (long j = 0; j < cols; j++) out[r * cols + j] = static_cast<T>(pp[j] * (pv[j] - d));
    }
  });
}

template <class T>
void cross_entropy_t(const T* z, const int32_t* y, T* out, long rows, long cols) {
  parallel_for(rows, row_grain(cols), [&](long b, long e) {
    for (long r = b; r < e; r++) {
      const T* p = z + r * cols;
      double mx = -std::numeric_limits<double>::infinity();
      for (long j = 0; j < cols; j++) mx = nan_max(mx, static_cast<double>(p[j]));
      double s = 0;
      for (long j = 0; j < cols; j++) s += std::exp(p[j] - mx);
      out[r] = static_cast<T>(mx + std::log(s) - p[y[r]]);
    }
  });
}

}  // namespace

void k_softmax(int dt, const void* x, void* out, long rows, long cols, bool log) {
  GR_DT(softmax_t(F(x), FO(out), rows, cols, log), softmax_t(D(x), DO(out), rows, cols, log))
}
void k_softmax_hvp(int dt, const void* p, const void* v, void* out, long rows, long cols) {
  GR_DT(softmax_hvp_t(F(p), F(v), FO(out), rows, cols), softmax_hvp_t(D(p), D(v), DO(out), rows, cols))
}
void k_cross_entropy(int dt, const void* z, const int32_t* labels, void* out, long rows, long cols) {
  GR_DT(cross_entropy_t(F(z), labels, FO(out), rows, cols), cross_entropy_t(D(z), labels, DO(out), rows, cols))
}
void k_softmax_cross_entropy_grad(int dt, const void* z, const int32_t* labels, void* out, long rows, long cols) {
  k_softmax(dt, z, out, rows, cols, false);
  for (long r = 0; r < rows; r++) {
    if (dt == kFloat32) FO(out)[r * cols + labels[r]] -= 1.f;
    else DO(out)[r * cols + labels[r]] -= 1.0;
  }
}
void k_one_hot(const int32_t* labels, long n, long classes, int dt, void* out) {
  const size_t es = dt == kFloat64 ? 8 : 4;
  std::memset(out, 0, es * n * classes);
  for (long r = 0; r < n; r++) {
    const int32_t y = labels[r];
    if (y < 0 || y >= classes) continue;
    if (dt == kFloat32) FO(out)[r * classes + y] = 1.f;
    else if (dt == kFloat64) DO(out)[r * classes + y] = 1.0;
    else static_cast<int32_t*>(out)[r * classes + y] = 1;
  }
}

}  // namespace gr
