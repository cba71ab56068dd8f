// The batch-norm kernels over [N, C, *], compiled once per instruction set: batchnorm.cc (the
// baseline x86-64 ISA, SSE2), batchnorm_avx2.cc and batchnorm_avx512.cc include this file after
// defining GR_BN_VEC (the bytes of one vector register: 16, 32, 64) and GR_BN_ENTRY(name) (the
// name of that build's entry points). The three builds give the same bits: every lane sums the
// same elements in the same order whatever the vector width (a step is 64 bytes: U = 64 / GR_BN_VEC
// vectors), and the ISA files are compiled with -ffp-contract=off (no fused multiply-adds that the
// baseline build could not form).
//
// Like gemm_avx512.cc, this code calls no inline C++ library function (whose out-of-line copies,
// shared between translation units, could carry AVX-512 instructions into the baseline paths):
// builtins only, and every definition here has internal linkage.
#include <stdlib.h>

#include "common.h"

#ifndef GR_BN_VEC
#error "define GR_BN_VEC (vector bytes) before including batchnorm_impl.h"
#endif

namespace gr {
namespace {

inline long lmin(long a, long b) { return a < b ? a : b; }

template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(GR_BN_VEC)));
};

// An unaligned load of a W (a vector or one element).
template <class W, class T>
inline W load(const T* p) {
  W w;
  __builtin_memcpy(&w, p, sizeof(W));
  return w;
}

// Per-channel sums of K terms per element (sum of x, of x^2, of g (x - mean), ...) over the
// channel's n runs of s contiguous values, run b starting at (b * c + ch) * s.
//
// The terms are computed in T, one vector at a time, into STEP = 64 / sizeof(T) lanes (16 floats,
// 8 doubles: U vectors of GR_BN_VEC bytes, independent accumulators, so no chain of dependent adds
// limits the loop): element k of a block goes to lane k % STEP; the last partial step of a run is
// summed in double beside them. Each block of at most BLOCK elements (short runs grouped) starts
// from zero lanes, so a float lane never sums more than BLOCK / STEP + runs terms, and is then added
// into a double lane; the double lanes are added pairwise into the totals `tot` at the end. The order depends only on (n, c, s): the same bits at
// every thread count and in every build. (The earlier form, double lanes fed by converting each
// float, compiled to scalar code at a tenth of memory speed.)
//
// term(i, r) writes the K terms of the elements starting at index i into r[0..K), for W = the
// vector type (GR_BN_VEC / sizeof(T) elements) or W = T (one element).
template <class T, int K, class Term>
inline void channel_sums(long n, long c, long s, long ch, Term&& term, double* tot) {
  using V = typename Vec<T>::type;
  constexpr int L = static_cast<int>(sizeof(V) / sizeof(T));
  constexpr int U = 64 / GR_BN_VEC;
  constexpr long STEP = U * L, BLOCK = 512;
  double h[K][STEP] = {}, tail[K] = {};
  const long runs = s >= BLOCK ? 1 : BLOCK / (s > 0 ? s : 1);
  for (long b0 = 0; b0 < n; b0 += runs) {
    const long b1 = lmin(n, b0 + runs);
    for (long k0 = 0; k0 < s; k0 += BLOCK) {
      const long k1 = lmin(s, k0 + BLOCK);
      V a[U][K] = {};
      for (long b = b0; b < b1; b++) {
        const long off = (b * c + ch) * s;
        long k = k0;
        for (; k + STEP <= k1; k += STEP)
          for (int j = 0; j < U; j++) {
            V t[K];
            term.template operator()<V>(off + k + j * L, t);
            for (int q = 0; q < K; q++) a[j][q] += t[q];
          }
        for (; k < k1; k++) {
          T t[K];
          term.template operator()<T>(off + k, t);
          for (int q = 0; q < K; q++) tail[q] += static_cast<double>(t[q]);
        }
      }
      for (int q = 0; q < K; q++)
        for (int j = 0; j < U; j++)
          for (int l = 0; l < L; l++) h[q][j * L + l] += static_cast<double>(a[j][q][l]);
    }
  }
  // The STEP lanes pairwise: lane l + STEP / 2 into lane l, and so on.
  for (int q = 0; q < K; q++) {
    for (long w = STEP / 2; w >= 1; w /= 2)
      for (long l = 0; l < w; l++) h[q][l] += h[q][l + w];
    tot[q] = h[q][0] + tail[q];
  }
}

// Per-channel coefficients of the elementwise pass, computed by the pass of sums.
template <class T, int M>
struct Coef {
  T* v;
  explicit Coef(long c) : v(static_cast<T*>(malloc(sizeof(T) * M * (c > 0 ? c : 1)))) {}
  ~Coef() { free(v); }
  Coef(const Coef&) = delete;
  Coef& operator=(const Coef&) = delete;
  void set(long ch, const T (&k)[M]) {
    for (int i = 0; i < M; i++) v[ch * M + i] = k[i];
  }
  const T* at(long ch) const { return v + ch * M; }
};

// The elementwise pass, f(plane p = b * c + ch, channel ch) over the n * c planes of s values in
// memory order (the pass of sums went channel by channel: runs of s values c * s apart, which the
// caches and prefetchers handle worse), parallel over planes.
template <class F>
inline void planes(long n, long c, long s, F&& f) {
  const long grain = s >= 16384 ? 1 : 16384 / (s > 0 ? s : 1);
  parallel_for(n * c, grain, [&](long pb, long pe) {
    for (long p = pb; p < pe; p++) f(p, p % c);
  });
}

// Batch statistics from one pass of sums over shifted values d = x - shift (shift = the channel's
// first value, so E[d^2] - E[d]^2 does not cancel when the mean is large against the deviation),
// the affine map in T.
template <class T>
void batch_norm_forward_t(const T* x, const T* gamma, const T* beta, double eps, long n, long c, long s, T* y, T* mean,
                          T* var) {
  const double m = static_cast<double>(n * s);
  Coef<T, 3> co(c);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const T shiftT = x[ch * s];
      double t[2];
      channel_sums<T, 2>(n, c, s, ch, [&]<class W>(long i, W* r) {
        const W d = load<W>(x + i) - shiftT;
        r[0] = d;
        r[1] = d * d;
      }, t);
      const double dm = t[0] / m, mu = static_cast<double>(shiftT) + dm;
      const double vq = t[1] / m - dm * dm, v = vq > 0 ? vq : 0.0;
      mean[ch] = static_cast<T>(mu);
      var[ch] = static_cast<T>(v);
      co.set(ch, {static_cast<T>(mu), static_cast<T>(gamma[ch] * (1.0 / __builtin_sqrt(v + eps))), beta[ch]});
    }
  });
  planes(n, c, s, [&](long p, long ch) {
    const T muT = co.at(ch)[0], ga = co.at(ch)[1], be = co.at(ch)[2];
    const T* px = x + p * s;
    T* q = y + p * s;
    for (long k = 0; k < s; k++) q[k] = (px[k] - muT) * ga + be;
  });
}

// dx = gamma * inv / m * (m * gy - sum gy - xhat * sum(gy * xhat)), xhat = (x - mu) * inv.
template <class T>
void batch_norm_backward_t(const T* x, const T* gy, const T* mean, const T* var, const T* gamma, double eps, long n,
                           long c, long s, T* dx, T* dgamma, T* dbeta) {
  const double m = static_cast<double>(n * s);
  Coef<T, 3> co(c);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const T muT = mean[ch];
      const double inv = 1.0 / __builtin_sqrt(static_cast<double>(var[ch]) + eps);
      double t[2];
      channel_sums<T, 2>(n, c, s, ch, [&]<class W>(long i, W* r) {
        const W gv = load<W>(gy + i);
        r[0] = gv;
        r[1] = gv * (load<W>(x + i) - muT);
      }, t);
      const double sg = t[0], sgx = t[1] * inv;
      dbeta[ch] = static_cast<T>(sg);
      dgamma[ch] = static_cast<T>(sgx);
      const double f = gamma[ch] * inv / m;
      // dx = A * gy + B * (x - mu) + C
      co.set(ch, {static_cast<T>(f * m), static_cast<T>(-f * inv * sgx), static_cast<T>(-f * sg)});
    }
  });
  planes(n, c, s, [&](long p, long ch) {
    const T A = co.at(ch)[0], B = co.at(ch)[1], C = co.at(ch)[2], muT = mean[ch];
    const T* px = x + p * s;
    const T* pg = gy + p * s;
    T* q = dx + p * s;
    for (long k = 0; k < s; k++) q[k] = A * pg[k] + B * (px[k] - muT) + C;
  });
}

// The second derivative of batch_norm_backward's dx against a cotangent u (formula in
// src/backends/backend.ts): one pass for the five per-channel sums, one writing gx and gg.
template <class T>
void batch_norm_double_backward_t(const T* x, const T* g, const T* u, const T* mean, const T* var, const T* gamma,
                                  double eps, long n, long c, long s, T* gx, T* gg, T* dgamma) {
  const double m = static_cast<double>(n * s);
  Coef<T, 8> co(c);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const T muT = mean[ch];
      const double inv = 1.0 / __builtin_sqrt(static_cast<double>(var[ch]) + eps);
      double t[5];
      channel_sums<T, 5>(n, c, s, ch, [&]<class W>(long i, W* r) {
        const W gv = load<W>(g + i), uv = load<W>(u + i), d = load<W>(x + i) - muT;
        r[0] = gv;
        r[1] = uv;
        r[2] = gv * d;
        r[3] = uv * d;
        r[4] = uv * gv;
      }, t);
      const double gm = t[0] / m, um = t[1] / m, G = t[2] * inv / m, U = t[3] * inv / m, Q = t[4] / m;
      const double ga = gamma[ch];
      dgamma[ch] = static_cast<T>(m * inv * (Q - um * gm - U * G));
      // gx = cx ((u - um) G + (g - gm) U + xhat r), gg = cg (u - um - xhat U), xhat = (x - mu) inv
      co.set(ch, {static_cast<T>(-ga * inv * inv), static_cast<T>(ga * inv), static_cast<T>(G), static_cast<T>(U),
                  static_cast<T>(um), static_cast<T>(gm), static_cast<T>((Q - um * gm - 3 * U * G) * inv),
                  static_cast<T>(U * inv)});
    }
  });
  planes(n, c, s, [&](long p, long ch) {
    const T* k8 = co.at(ch);
    const T cx = k8[0], cg = k8[1], Gt = k8[2], Ut = k8[3], umT = k8[4], gmT = k8[5], rI = k8[6], uI = k8[7];
    const T muT = mean[ch];
    const long o = p * s;
    for (long k = 0; k < s; k++) {
      const T d = x[o + k] - muT, uv = u[o + k] - umT;
      gx[o + k] = cx * (uv * Gt + (g[o + k] - gmT) * Ut + d * rI);
      gg[o + k] = cg * (uv - d * uI);
    }
  });
}

}  // namespace

// This build's entry points (dt: 0 float32, else float64; see batchnorm.cc).
void GR_BN_ENTRY(bn_forward)(int dt, const void* x, const void* gamma, const void* beta, double eps, long n, long c,
                             long s, void* y, void* mean, void* var) {
  if (dt == 0)
    batch_norm_forward_t(static_cast<const float*>(x), static_cast<const float*>(gamma), static_cast<const float*>(beta),
                         eps, n, c, s, static_cast<float*>(y), static_cast<float*>(mean), static_cast<float*>(var));
  else
    batch_norm_forward_t(static_cast<const double*>(x), static_cast<const double*>(gamma),
                         static_cast<const double*>(beta), eps, n, c, s, static_cast<double*>(y),
                         static_cast<double*>(mean), static_cast<double*>(var));
}

void GR_BN_ENTRY(bn_backward)(int dt, const void* x, const void* gy, const void* mean, const void* var,
                              const void* gamma, double eps, long n, long c, long s, void* dx, void* dgamma,
                              void* dbeta) {
  if (dt == 0)
    batch_norm_backward_t(static_cast<const float*>(x), static_cast<const float*>(gy), static_cast<const float*>(mean),
                          static_cast<const float*>(var), static_cast<const float*>(gamma), eps, n, c, s,
                          static_cast<float*>(dx), static_cast<float*>(dgamma), static_cast<float*>(dbeta));
  else
    batch_norm_backward_t(static_cast<const double*>(x), static_cast<const double*>(gy),
                          static_cast<const double*>(mean), static_cast<const double*>(var),
                          static_cast<const double*>(gamma), eps, n, c, s, static_cast<double*>(dx),
                          static_cast<double*>(dgamma), static_cast<double*>(dbeta));
}

void GR_BN_ENTRY(bn_double_backward)(int dt, const void* x, const void* g, const void* u, const void* mean,
                                     const void* var, const void* gamma, double eps, long n, long c, long s, void* gx,
                                     void* gg, void* dgamma) {
  if (dt == 0)
    batch_norm_double_backward_t(static_cast<const float*>(x), static_cast<const float*>(g),
                                 static_cast<const float*>(u), static_cast<const float*>(mean),
                                 static_cast<const float*>(var), static_cast<const float*>(gamma), eps, n, c, s,
                                 static_cast<float*>(gx), static_cast<float*>(gg), static_cast<float*>(dgamma));
  else
    batch_norm_double_backward_t(static_cast<const double*>(x), static_cast<const double*>(g),
                                 static_cast<const double*>(u), static_cast<const double*>(mean),
                                 static_cast<const double*>(var), static_cast<const double*>(gamma), eps, n, c, s,
                                 static_cast<double*>(gx), static_cast<double*>(gg), static_cast<double*>(dgamma));
}

}  // namespace gr
