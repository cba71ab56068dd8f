// Neural-network kernels: pooling, batch norm, the softmax family and the fused
// optimizer updates. Each parallelizes over independent planes, channels or rows.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "dtype_dispatch.h"
#include "nditer.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace gr {
namespace {

// Windows that never touch padding: the first element seeds the max and only a strictly larger
// value replaces it, which is the reference's "first max wins" (NaN in the first slot sticks, as there).
// The first max wins; a NaN wins over any number (so it is not hidden), the first NaN over later ones.
template <class T>
inline bool beats(T v, T best) {
  return v > best || (v != v && best == best);
}

template <class T>
void maxpool_nopad(const T* x, T* out, int32_t* idx, const Geom& g, long b, long e) {
  const long L = g.oh * g.ow;
  for (long p = b; p < e; p++) {
    const T* plane = x + p * g.h * g.w;
    T* o = out + p * L;
    int32_t* id = idx + p * L;
    for (long y = 0; y < g.oh; y++) {
      const long y0 = y * g.sh;
      for (long xx = 0; xx < g.ow; xx++) {
        const long x0 = xx * g.sw;
        long bi = y0 * g.w + x0;
        T best = plane[bi];
#if defined(__SSE2__)
        if constexpr (std::is_same_v<T, float>) {
          // 2x2 windows with stride 2, four outputs at a time (baseline SSE2); same comparison order
          // and strict > as the scalar path, so ties and NaNs resolve identically.
          if (g.kh == 2 && g.kw == 2 && g.sh == 2 && g.sw == 2 && 2 * xx + 8 <= g.w) {
            const float* r0 = plane + y0 * g.w + x0;
            const float* r1 = r0 + g.w;
            const __m128 a0 = _mm_loadu_ps(r0), a1 = _mm_loadu_ps(r0 + 4);
            const __m128 b0 = _mm_loadu_ps(r1), b1 = _mm_loadu_ps(r1 + 4);
            const __m128 e0 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0));
            const __m128 o0 = _mm_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1));
            const __m128 e1 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0));
            const __m128 o1 = _mm_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1));
            const __m128i base = _mm_add_epi32(_mm_set1_epi32(static_cast<int>(bi)), _mm_setr_epi32(0, 2, 4, 6));
            __m128 m = e0;
            __m128i vid = base;
            auto take = [&](__m128 v, int off) {
              // v > m, or v is the window's first NaN (a NaN wins over any number, as in the reference)
              const __m128 gt = _mm_or_ps(_mm_cmpgt_ps(v, m), _mm_and_ps(_mm_cmpunord_ps(v, v), _mm_cmpord_ps(m, m)));
              const __m128i gi = _mm_castps_si128(gt);
              m = _mm_or_ps(_mm_and_ps(gt, v), _mm_andnot_ps(gt, m));
              vid = _mm_or_si128(_mm_and_si128(gi, _mm_add_epi32(base, _mm_set1_epi32(off))), _mm_andnot_si128(gi, vid));
            };
            take(o0, 1);
            take(e1, static_cast<int>(g.w));
            take(o1, static_cast<int>(g.w) + 1);
            _mm_storeu_ps(reinterpret_cast<float*>(o + y * g.ow + xx), m);
            _mm_storeu_si128(reinterpret_cast<__m128i*>(id + y * g.ow + xx), vid);
            xx += 3;
            continue;
          }
        }
#endif
        if (g.kh == 2 && g.kw == 2) {
          const long i1 = bi + 1, i2 = bi + g.w, i3 = bi + g.w + 1;
          if (beats(plane[i1], best)) { best = plane[i1]; bi = i1; }
          if (beats(plane[i2], best)) { best = plane[i2]; bi = i2; }
          if (beats(plane[i3], best)) { best = plane[i3]; bi = i3; }
        } else {
          for (long i = 0; i < g.kh; i++) {
            const long r = (y0 + i) * g.w + x0;
            for (long j = 0; j < g.kw; j++) {
              const T v = plane[r + j];
              if (beats(v, best)) { best = v; bi = r + j; }
            }
          }
        }
        o[y * g.ow + xx] = best;
        id[y * g.ow + xx] = static_cast<int32_t>(bi);
      }
    }
  }
}

template <class T>
void maxpool_t(const T* x, T* out, int32_t* idx, const Geom& g) {
  const long L = g.oh * g.ow;
  const bool inside = g.ph == 0 && g.pw == 0 && (g.oh - 1) * g.sh + g.kh <= g.h && (g.ow - 1) * g.sw + g.kw <= g.w;
  if (inside) {
    parallel_for(g.n * g.c, 16, [&](long b, long e) { maxpool_nopad(x, out, idx, g, b, e); });
    return;
  }
  parallel_for(g.n * g.c, 4, [&](long b, long e) {
    for (long p = b; p < e; p++) {
      const T* plane = x + p * g.h * g.w;
      T* o = out + p * L;
      int32_t* id = idx + p * L;
      for (long y = 0; y < g.oh; y++)
        for (long xx = 0; xx < g.ow; xx++) {
          T best = -std::numeric_limits<T>::infinity();
          long bi = -1;
          for (long i = 0; i < g.kh; i++) {
            const long hy = y * g.sh - g.ph + i;
            if (hy < 0 || hy >= g.h) continue;
            for (long j = 0; j < g.kw; j++) {
              const long wx = xx * g.sw - g.pw + j;
              if (wx < 0 || wx >= g.w) continue;
              const T v = plane[hy * g.w + wx];
              if (bi < 0 || beats(v, best)) {
                best = v;
                bi = hy * g.w + wx;
              }
            }
          }
          o[y * g.ow + xx] = best;
          id[y * g.ow + xx] = static_cast<int32_t>(bi);
        }
    }
  });
}

template <class T>
void gather_t(const T* x, const int32_t* idx, T* out, const Geom& g) {
  const long L = g.oh * g.ow, HW = g.h * g.w;
  parallel_for(g.n * g.c, 16, [&](long b, long e) {
    for (long p = b; p < e; p++)
      for (long k = 0; k < L; k++) out[p * L + k] = x[p * HW + idx[p * L + k]];
  });
}

template <class T>
void scatter_t(const T* gy, const int32_t* idx, T* out, const Geom& g) {
  const long L = g.oh * g.ow, HW = g.h * g.w;
  const bool tiles = g.ph == 0 && g.pw == 0 && g.sh >= g.kh && g.sw >= g.kw;
  if (tiles) {
    // Windows tile the plane without overlap: write each window once (gradient at its argmax, zero
    // elsewhere) and zero only what no window covers, instead of clearing the plane and scattering.
    parallel_for(g.n * g.c, 16, [&](long b, long e) {
      for (long p = b; p < e; p++) {
        T* plane = out + p * HW;
        const T* gp = gy + p * L;
        const int32_t* ip = idx + p * L;
        for (long y = 0; y < g.oh; y++) {
          for (long r = y * g.sh; r < y * g.sh + g.sh && r < g.h; r++) {
            T* row = plane + r * g.w;
            for (long c = 0; c < g.w; c++) row[c] = T(0);
          }
          for (long xx = 0; xx < g.ow; xx++) plane[ip[y * g.ow + xx]] = gp[y * g.ow + xx];
        }
        for (long r = g.oh * g.sh; r < g.h; r++)
          for (long c = 0; c < g.w; c++) plane[r * g.w + c] = T(0);
      }
    });
    return;
  }
  parallel_for(g.n * g.c, 16, [&](long b, long e) {
    std::memset(out + b * HW, 0, sizeof(T) * (e - b) * HW);
    for (long p = b; p < e; p++)
      for (long k = 0; k < L; k++) out[p * HW + idx[p * L + k]] += gy[p * L + k];
  });
}

template <class T>
void avgpool_t(const T* x, T* out, const Geom& g) {
  const double inv = 1.0 / static_cast<double>(g.kh * g.kw);
  const long L = g.oh * g.ow;
  parallel_for(g.n * g.c, 4, [&](long b, long e) {
    for (long p = b; p < e; p++) {
      const T* plane = x + p * g.h * g.w;
      for (long y = 0; y < g.oh; y++)
        for (long xx = 0; xx < g.ow; xx++) {
          double s = 0;
          for (long i = 0; i < g.kh; i++) {
            const long hy = y * g.sh - g.ph + i;
            if (hy < 0 || hy >= g.h) continue;
            for (long j = 0; j < g.kw; j++) {
              const long wx = xx * g.sw - g.pw + j;
              if (wx >= 0 && wx < g.w) s += plane[hy * g.w + wx];
            }
          }
          out[p * L + y * g.ow + xx] = static_cast<T>(s * inv);
        }
    }
  });
}

template <class T>
void avgpool_backward_t(const T* gy, T* out, const Geom& g) {
  const double inv = 1.0 / static_cast<double>(g.kh * g.kw);
  const long L = g.oh * g.ow, HW = g.h * g.w;
  parallel_for(g.n * g.c, 4, [&](long b, long e) {
    for (long p = b; p < e; p++) {
      T* plane = out + p * HW;
      std::memset(plane, 0, sizeof(T) * HW);
      for (long y = 0; y < g.oh; y++)
        for (long xx = 0; xx < g.ow; xx++) {
          const T v = static_cast<T>(gy[p * L + y * g.ow + xx] * inv);
          for (long i = 0; i < g.kh; i++) {
            const long hy = y * g.sh - g.ph + i;
            if (hy < 0 || hy >= g.h) continue;
            for (long j = 0; j < g.kw; j++) {
              const long wx = xx * g.sw - g.pw + j;
              if (wx >= 0 && wx < g.w) plane[hy * g.w + wx] += v;
            }
          }
        }
    }
  });
}

// Per-channel sums in double over 8 independent lanes: no serial chain of dependent adds (which
// would cost an add latency per element), and a layout the compiler vectorizes.
//
// sum and sum of squares of (x - shift) in one pass; the shift (a sample of the data) keeps the
// variance E[d^2] - E[d]^2 free of cancellation when the mean is large against the deviation.
template <class T>
inline void lane_sum_sq(const T* p, long n, double shift, double& sum, double& sq) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; l++) {
      const double d = static_cast<double>(p[k + l]) - shift;
      a[l] += d;
      b[l] += d * d;
    }
  double ta = 0, tb = 0;
  for (; k < n; k++) {
    const double d = static_cast<double>(p[k]) - shift;
    ta += d;
    tb += d * d;
  }
  sum += ta + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  sq += tb + ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
}

// sg += sum g, sgd += sum g * (x - mu)
template <class T>
inline void lane_grad_sums(const T* g, const T* x, long n, double mu, double& sg, double& sgd) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; l++) {
      const double gv = static_cast<double>(g[k + l]);
      a[l] += gv;
      b[l] += gv * (static_cast<double>(x[k + l]) - mu);
    }
  double ta = 0, tb = 0;
  for (; k < n; k++) {
    const double gv = static_cast<double>(g[k]);
    ta += gv;
    tb += gv * (static_cast<double>(x[k]) - mu);
  }
  sg += ta + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  sgd += tb + ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
}

// Batch statistics in double, in one pass over shifted values (shift = the channel's first value);
// the affine map in T.
template <class T>
void batch_norm_forward_t(const T* x, const T* gamma, const T* beta, double eps, long n, long c, long s, T* y, T* mean,
                  T* var) {
  const double m = static_cast<double>(n * s);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const double shift = x[ch * s];
      double sum = 0, sq = 0;
      for (long b = 0; b < n; b++) lane_sum_sq(x + (b * c + ch) * s, s, shift, sum, sq);
      const double dm = sum / m, mu = shift + dm;
      const double v = std::max(0.0, sq / m - dm * dm);
      mean[ch] = static_cast<T>(mu);
      var[ch] = static_cast<T>(v);
      const T ga = static_cast<T>(gamma[ch] * (1.0 / std::sqrt(v + eps)));
      const T be = beta[ch], muT = static_cast<T>(mu);
      for (long b = 0; b < n; b++) {
        const T* p = x + (b * c + ch) * s;
        T* q = y + (b * c + ch) * s;
        for (long k = 0; k < s; k++) q[k] = (p[k] - muT) * ga + be;
      }
    }
  });
}

// dx = gamma * inv / m * (m * gy - sum gy - xhat * sum(gy * xhat)), xhat = (x - mu) * inv.
template <class T>
void batch_norm_backward_t(const T* x, const T* gy, const T* mean, const T* var, const T* gamma, double eps, long n, long c,
                   long s, T* dx, T* dgamma, T* dbeta) {
  const double m = static_cast<double>(n * s);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const double mu = mean[ch];
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      double sg = 0, sgd = 0;
      for (long b = 0; b < n; b++) lane_grad_sums(gy + (b * c + ch) * s, x + (b * c + ch) * s, s, mu, sg, sgd);
      const double sgx = sgd * inv;
      dbeta[ch] = static_cast<T>(sg);
      dgamma[ch] = static_cast<T>(sgx);
      const double f = gamma[ch] * inv / m;
      // dx = A * gy + B * (x - mu) + C
      const T A = static_cast<T>(f * m), B = static_cast<T>(-f * inv * sgx), C = static_cast<T>(-f * sg);
      const T muT = static_cast<T>(mu);
      for (long b = 0; b < n; b++) {
        const T* px = x + (b * c + ch) * s;
        const T* pg = gy + (b * c + ch) * s;
        T* q = dx + (b * c + ch) * s;
        for (long k = 0; k < s; k++) q[k] = A * pg[k] + B * (px[k] - muT) + C;
      }
    }
  });
}

// The second derivative of batch_norm_backward's dx against a cotangent u (formula in src/backends/backend.ts):
// one pass for five per-channel sums, one writing gx and gg.
template <class T>
void batch_norm_double_backward_t(const T* x, const T* g, const T* u, const T* mean, const T* var, const T* gamma, double eps,
                          long n, long c, long s, T* gx, T* gg, T* dgamma) {
  const double m = static_cast<double>(n * s);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const double mu = mean[ch];
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      double sg = 0, su = 0, sgd = 0, sud = 0, sug = 0;
      for (long b = 0; b < n; b++) {
        const long o = (b * c + ch) * s;
        double a[5][8] = {};
        long k = 0;
        for (; k + 8 <= s; k += 8)
          for (int l = 0; l < 8; l++) {
            const double gv = g[o + k + l], uv = u[o + k + l], d = static_cast<double>(x[o + k + l]) - mu;
            a[0][l] += gv;
            a[1][l] += uv;
            a[2][l] += gv * d;
            a[3][l] += uv * d;
            a[4][l] += uv * gv;
          }
        for (; k < s; k++) {
          const double gv = g[o + k], uv = u[o + k], d = static_cast<double>(x[o + k]) - mu;
          sg += gv;
          su += uv;
          sgd += gv * d;
          sud += uv * d;
          sug += uv * gv;
        }
        double t[5];
        for (int q = 0; q < 5; q++) t[q] = ((a[q][0] + a[q][4]) + (a[q][1] + a[q][5])) + ((a[q][2] + a[q][6]) + (a[q][3] + a[q][7]));
        sg += t[0];
        su += t[1];
        sgd += t[2];
        sud += t[3];
        sug += t[4];
      }
      const double gm = sg / m, um = su / m, G = sgd * inv / m, U = sud * inv / m, Q = sug / m;
      const double ga = gamma[ch];
      dgamma[ch] = static_cast<T>(m * inv * (Q - um * gm - U * G));
      // gx = cx ((u - um) G + (g - gm) U + xhat r), gg = cg (u - um - xhat U), xhat = (x - mu) inv
      const T cx = static_cast<T>(-ga * inv * inv), cg = static_cast<T>(ga * inv);
      const T Gt = static_cast<T>(G), Ut = static_cast<T>(U), umT = static_cast<T>(um), gmT = static_cast<T>(gm);
      const T rI = static_cast<T>((Q - um * gm - 3 * U * G) * inv), uI = static_cast<T>(U * inv), muT = static_cast<T>(mu);
      for (long b = 0; b < n; b++) {
        const long o = (b * c + ch) * s;
        for (long k = 0; k < s; k++) {
          const T d = x[o + k] - muT, uv = u[o + k] - umT;
          gx[o + k] = cx * (uv * Gt + (g[o + k] - gmT) * Ut + d * rI);
          gg[o + k] = cg * (uv - d * uI);
        }
      }
    }
  });
}

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

// One rule per instantiation, so each loop is branch-free and vectorizes.
template <class T, int RULE>
void update_rule(T* w, const T* g, T* s0, T* s1, long n, const UpdateParams& p) {
  const double shrink = 1 - p.lr * p.decoupledDecay;
  const double c1 = 1 - std::pow(p.beta1, p.step);
  const double c2 = 1 - std::pow(p.beta2, p.step);
  const double lr = p.lr, mom = p.momentum, b1 = p.beta1, b2 = p.beta2, eps = p.eps, wd = p.weightDecay;
  parallel_for(n, EW_GRAIN, [&](long b, long e) {
    for (long i = b; i < e; i++) {
      double wi = w[i] * shrink;
      const double gi = g[i] + wd * w[i];
      if constexpr (RULE == kSgd) {
        wi -= lr * gi;
      } else if constexpr (RULE == kMomentum) {
        const double v = mom * s0[i] - lr * gi;
        s0[i] = static_cast<T>(v);
        wi += v;
      } else if constexpr (RULE == kNesterov) {
        const double v = mom * s0[i] - lr * gi;
        s0[i] = static_cast<T>(v);
        wi += mom * v - lr * gi;
      } else if constexpr (RULE == kAdagrad) {
        const double a = s0[i] + gi * gi;
        s0[i] = static_cast<T>(a);
        wi -= (lr * gi) / (std::sqrt(a) + eps);
      } else if constexpr (RULE == kRmsprop) {
        const double a = b2 * s0[i] + (1 - b2) * gi * gi;
        s0[i] = static_cast<T>(a);
        wi -= (lr * gi) / (std::sqrt(a) + eps);
      } else {
        const double m = b1 * s0[i] + (1 - b1) * gi;
        const double v = b2 * s1[i] + (1 - b2) * gi * gi;
        s0[i] = static_cast<T>(m);
        s1[i] = static_cast<T>(v);
        wi -= (lr * (m / c1)) / (std::sqrt(v / c2) + eps);
      }
      w[i] = static_cast<T>(wi);
    }
  });
}

template <class T>
void update_t(int rule, T* w, const T* g, T* s0, T* s1, long n, const UpdateParams& p) {
  switch (rule) {
    case kSgd: update_rule<T, kSgd>(w, g, s0, s1, n, p); break;
    case kMomentum: update_rule<T, kMomentum>(w, g, s0, s1, n, p); break;
    case kNesterov: update_rule<T, kNesterov>(w, g, s0, s1, n, p); break;
    case kAdagrad: update_rule<T, kAdagrad>(w, g, s0, s1, n, p); break;
    case kRmsprop: update_rule<T, kRmsprop>(w, g, s0, s1, n, p); break;
    default: update_rule<T, kAdam>(w, g, s0, s1, n, p); break;
  }
}

}  // namespace


void k_max_pool2d(int dt, const void* x, void* out, int32_t* idx, const Geom& g) {
  GR_DT(maxpool_t(F(x), FO(out), idx, g), maxpool_t(D(x), DO(out), idx, g))
}
void k_max_pool_gather(int dt, const void* x, const int32_t* idx, void* out, const Geom& g) {
  GR_DT(gather_t(F(x), idx, FO(out), g), gather_t(D(x), idx, DO(out), g))
}
void k_max_pool_scatter(int dt, const void* gy, const int32_t* idx, void* out, const Geom& g) {
  GR_DT(scatter_t(F(gy), idx, FO(out), g), scatter_t(D(gy), idx, DO(out), g))
}
void k_avg_pool2d(int dt, const void* x, void* out, const Geom& g) { GR_DT(avgpool_t(F(x), FO(out), g), avgpool_t(D(x), DO(out), g)) }
void k_avg_pool2d_backward(int dt, const void* gy, void* out, const Geom& g) {
  GR_DT(avgpool_backward_t(F(gy), FO(out), g), avgpool_backward_t(D(gy), DO(out), g))
}
void k_batch_norm_forward(int dt, const void* x, const void* gamma, const void* beta, double eps, long n, long c, long s,
                  void* y, void* mean, void* var) {
  GR_DT(batch_norm_forward_t(F(x), F(gamma), F(beta), eps, n, c, s, FO(y), FO(mean), FO(var)),
        batch_norm_forward_t(D(x), D(gamma), D(beta), eps, n, c, s, DO(y), DO(mean), DO(var)))
}
void k_batch_norm_double_backward(int dt, const void* x, const void* g, const void* u, const void* mean, const void* var,
                          const void* gamma, double eps, long n, long c, long s, void* gx, void* gg, void* dgamma) {
  GR_DT(batch_norm_double_backward_t(F(x), F(g), F(u), F(mean), F(var), F(gamma), eps, n, c, s, FO(gx), FO(gg), FO(dgamma)),
        batch_norm_double_backward_t(D(x), D(g), D(u), D(mean), D(var), D(gamma), eps, n, c, s, DO(gx), DO(gg), DO(dgamma)))
}
void k_batch_norm_backward(int dt, const void* x, const void* gy, const void* mean, const void* var, const void* gamma,
                   double eps, long n, long c, long s, void* dx, void* dgamma, void* dbeta) {
  GR_DT(batch_norm_backward_t(F(x), F(gy), F(mean), F(var), F(gamma), eps, n, c, s, FO(dx), FO(dgamma), FO(dbeta)),
        batch_norm_backward_t(D(x), D(gy), D(mean), D(var), D(gamma), eps, n, c, s, DO(dx), DO(dgamma), DO(dbeta)))
}
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
void k_apply_update(int dt, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p) {
  GR_DT(update_t(rule, FO(w), F(g), FO(s0), FO(s1), n, p), update_t(rule, DO(w), D(g), DO(s0), DO(s1), n, p))
}

}  // namespace gr
