// The batch-norm kernels over [N, C, *], compiled once per instruction set: batchnorm.cc (the
// baseline x86-64 ISA, SSE2), batchnorm_avx2.cc and batchnorm_avx512.cc include this file after
// defining GR_BN_VEC (the bytes of one vector register: 16, 32, 64) and GR_BN_ENTRY(name) (the
// name of that build's entry points). The three builds give the same bits: every lane sums the
// same elements in the same order whatever the vector width (8 lanes of doubles: U = 64 / GR_BN_VEC
// vectors), and the ISA files are compiled with -ffp-contract=off (no fused multiply-adds that the
// baseline build could not form).
//
// Like gemm_avx512.cc, this code calls no inline C++ library function (whose out-of-line copies,
// shared between translation units, could carry AVX-512 instructions into the baseline paths):
// builtins and intrinsics only, and every definition here has internal linkage.
#include <stdlib.h>

#include "common.h"
#if GR_BN_VEC == 64
#include <immintrin.h>
#endif

#ifndef GR_BN_VEC
#error "define GR_BN_VEC (vector bytes) before including batchnorm_impl.h"
#endif

namespace gr {
namespace {

// A vector of doubles (one register) and the vector of T holding as many values.
typedef double DV __attribute__((vector_size(GR_BN_VEC)));
constexpr int L = GR_BN_VEC / 8;
template <class T>
struct Src {
  typedef T type __attribute__((vector_size(L * sizeof(T))));
};

// The values at p in double: a vector of L of them (W = DV) or one (W = double). Exact.
template <class W, class T>
inline W ld(const T* p) {
  if constexpr (sizeof(W) == sizeof(double)) {
    return static_cast<double>(*p);
  } else {
    typename Src<T>::type v;
    __builtin_memcpy(&v, p, sizeof(v));
#if GR_BN_VEC == 64
    // GCC 12 splits the generic conversion of 8 floats into two halves, an extract and an insert:
    // one instruction (vcvtps2pd zmm, ymm) instead.
    if constexpr (sizeof(T) == 4) return reinterpret_cast<DV>(_mm512_cvtps_pd(reinterpret_cast<__m256>(v)));
#endif
    return __builtin_convertvector(v, DV);
  }
}

// The cotangent at p + i masked by relu's output m (batchNormRelu: where(m, g, 0), m shaped like x),
// in double like ld: the value where m is nonzero (NaN included, as where reads it), else +0 (the
// zero where() writes). m null: the value.
template <class W, class T>
inline W ldm(const T* p, const T* m, long i) {
  const W v = ld<W>(p + i);
  if (m == nullptr) return v;
  const W mv = ld<W>(m + i);
  if constexpr (sizeof(W) == sizeof(double)) return mv != 0.0 ? v : 0.0;
  else return mv != W{} ? v : W{};
}

// The same in T, for the elementwise passes.
template <class T>
inline T mk(const T* m, long i, T v) {
  return m[i] != T(0) ? v : T(0);
}

// The elementwise passes go over the n * c planes of s values (plane p = b * c + ch) in memory
// order, parallel over planes: f(p, ch). (Channel by channel, runs of s values c * s apart, the
// prefetchers restart at every run: reading three [50, 16, 32, 32] float tensors from DRAM took
// 0.48 ms that way against 0.29 ms in memory order on one Zen 4 core.)
template <class F>
inline void planes(long n, long c, long s, F&& f) {
  const long grain = s >= 16384 ? 1 : 16384 / (s > 0 ? s : 1);
  parallel_for(n * c, grain, [&](long pb, long pe) {
    for (long p = pb; p < pe; p++) f(p, p % c);
  });
}

// Per-channel sums of K terms per element (sum of x - shift, of (x - shift)^2, of g (x - mean),
// ...) in double like the reference: the values are converted exactly and the differences,
// products and sums are rounded to double, never to float (batch norm's second derivative
// subtracts sums that nearly cancel, mean(u g) - mean(u) mean(g)).
//
// One pass over the planes: eight lanes per plane (U vectors of L doubles, independent
// accumulators: no chain of dependent adds limits the loop), element k going to lane k % 8 until
// the plane's last partial step, which is summed beside them; the lanes added pairwise give the
// plane's sums, and a channel's sums add its planes' in batch order. The order depends only on
// (n, c, s): the same bits at every thread count and in every build. (The earlier form, one double
// per value through arrays the compiler did not keep in registers, ran scalar at a tenth of
// memory speed.)
//
// term(i, ch, r) writes the K terms of the elements of channel ch starting at index i into
// r[0..K), for W = DV (L elements) or W = double (one element). tot: [c][K].
template <class T, int K, class Term>
inline void channel_sums(long n, long c, long s, Term&& term, double* tot) {
  constexpr int U = 64 / GR_BN_VEC, STEP = 8;
  double* part = static_cast<double*>(malloc(sizeof(double) * K * (n * c > 0 ? n * c : 1)));
  planes(n, c, s, [&](long p, long ch) {
    DV a[U][K] = {};
    double tail[K] = {};
    const long off = p * s;
    long k = 0;
    for (; k + STEP <= s; k += STEP)
      for (int j = 0; j < U; j++) {
        DV t[K];
        term.template operator()<DV>(off + k + j * L, ch, t);
        for (int q = 0; q < K; q++) a[j][q] += t[q];
      }
    for (; k < s; k++) {
      double t[K];
      term.template operator()<double>(off + k, ch, t);
      for (int q = 0; q < K; q++) tail[q] += t[q];
    }
    for (int q = 0; q < K; q++) {
      double h[STEP];
      for (int j = 0; j < U; j++)
        for (int l = 0; l < L; l++) h[j * L + l] = a[j][q][l];
      for (int w = STEP / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) h[l] += h[l + w];
      part[p * K + q] = h[0] + tail[q];
    }
  });
  // tot[ch][q] = sum over b of part[b][ch][q], in batch order (plane sums are [n][c][K] in memory).
  for (long i = 0; i < c * K; i++) tot[i] = 0;
  for (long b = 0; b < n; b++)
    for (long i = 0; i < c * K; i++) tot[i] += part[b * c * K + i];
  free(part);
}

// Per-channel numbers in double: [c][M], malloc'd.
struct PerChannel {
  double* v;
  PerChannel(long c, int m) : v(static_cast<double*>(malloc(sizeof(double) * m * (c > 0 ? c : 1)))) {}
  ~PerChannel() { free(v); }
  PerChannel(const PerChannel&) = delete;
  PerChannel& operator=(const PerChannel&) = delete;
};

// Batch statistics from one pass of sums over shifted values d = x - shift (shift = the channel's
// first value, so E[d^2] - E[d]^2 does not cancel when the mean is large against the deviation),
// then the affine map in T.
template <class T>
void batch_norm_forward_t(const T* x, const T* gamma, const T* beta, double eps, long n, long c, long s, T* y, T* mean,
                          T* var) {
  const double m = static_cast<double>(n * s);
  PerChannel shift(c, 1), t(c, 2);
  for (long ch = 0; ch < c; ch++) shift.v[ch] = n > 0 && s > 0 ? static_cast<double>(x[ch * s]) : 0.0;
  channel_sums<T, 2>(n, c, s, [&]<class W>(long i, long ch, W* r) {
    const W d = ld<W>(x + i) - shift.v[ch];
    r[0] = d;
    r[1] = d * d;
  }, t.v);
  for (long ch = 0; ch < c; ch++) {
    const double dm = t.v[2 * ch] / m, mu = shift.v[ch] + dm;
    const double vq = t.v[2 * ch + 1] / m - dm * dm, v = vq > 0 ? vq : 0.0;
    mean[ch] = static_cast<T>(mu);
    var[ch] = static_cast<T>(v);
    // y = (x - mu) ga + beta; the slots of the sums now hold mu (as T) and ga
    t.v[2 * ch] = static_cast<T>(mu);
    t.v[2 * ch + 1] = static_cast<T>(gamma[ch] * (1.0 / __builtin_sqrt(v + eps)));
  }
  planes(n, c, s, [&](long p, long ch) {
    const T muT = static_cast<T>(t.v[2 * ch]), ga = static_cast<T>(t.v[2 * ch + 1]), be = beta[ch];
    const T* px = x + p * s;
    T* q = y + p * s;
    for (long k = 0; k < s; k++) q[k] = (px[k] - muT) * ga + be;
  });
}

// dx = gamma * inv / m * (m * gy - sum gy - xhat * sum(gy * xhat)), xhat = (x - mu) * inv. With a
// mask (relu's output after this batch norm, batchNormRelu), gy is where(mask, gy, 0), read so.
template <class T>
void batch_norm_backward_t(const T* x, const T* gy, const T* mean, const T* var, const T* gamma, double eps, long n,
                           long c, long s, T* dx, T* dgamma, T* dbeta, const T* mask) {
  const double m = static_cast<double>(n * s);
  PerChannel t(c, 3);
  channel_sums<T, 2>(n, c, s, [&]<class W>(long i, long ch, W* r) {
    const W gv = ldm<W>(gy, mask, i);
    r[0] = gv;
    r[1] = gv * (ld<W>(x + i) - static_cast<double>(mean[ch]));
  }, t.v);
  PerChannel k3(c, 3);
  for (long ch = 0; ch < c; ch++) {
    const double inv = 1.0 / __builtin_sqrt(static_cast<double>(var[ch]) + eps);
    const double sg = t.v[2 * ch], sgx = t.v[2 * ch + 1] * inv;
    dbeta[ch] = static_cast<T>(sg);
    dgamma[ch] = static_cast<T>(sgx);
    const double f = gamma[ch] * inv / m;
    // dx = A * gy + B * (x - mu) + C
    k3.v[3 * ch] = static_cast<T>(f * m);
    k3.v[3 * ch + 1] = static_cast<T>(-f * inv * sgx);
    k3.v[3 * ch + 2] = static_cast<T>(-f * sg);
  }
  planes(n, c, s, [&](long p, long ch) {
    const T A = static_cast<T>(k3.v[3 * ch]), B = static_cast<T>(k3.v[3 * ch + 1]), C = static_cast<T>(k3.v[3 * ch + 2]);
    const T muT = mean[ch];
    const T* px = x + p * s;
    const T* pg = gy + p * s;
    T* q = dx + p * s;
    if (mask) {
      const T* pm = mask + p * s;
      for (long k = 0; k < s; k++) q[k] = A * mk(pm, k, pg[k]) + B * (px[k] - muT) + C;
    } else {
      for (long k = 0; k < s; k++) q[k] = A * pg[k] + B * (px[k] - muT) + C;
    }
  });
}

// The second derivative of batch_norm_backward's dx against a cotangent u (formula in
// src/backends/backend.ts): one pass for the five per-channel sums, one writing gx and gg. With
// `acc`, gx and dgamma are added to (gx += ..., dgamma += ..., each term rounded to T first: the
// bits of a separate kernel's result added afterwards) for the blocks of a cotangent stack. With a
// mask, g is where(mask, g, 0) (read so) and gg, the gradient of the unmasked g, is where(mask, gg, 0):
// the bits of the where() before and after the unmasked kernel.
template <class T>
void batch_norm_double_backward_t(const T* x, const T* g, const T* u, const T* mean, const T* var, const T* gamma,
                                  double eps, long n, long c, long s, T* gx, T* gg, T* dgamma, bool acc, const T* mask) {
  const double m = static_cast<double>(n * s);
  PerChannel t(c, 5);
  channel_sums<T, 5>(n, c, s, [&]<class W>(long i, long ch, W* r) {
    const W gv = ldm<W>(g, mask, i), uv = ld<W>(u + i), d = ld<W>(x + i) - static_cast<double>(mean[ch]);
    r[0] = gv;
    r[1] = uv;
    r[2] = gv * d;
    r[3] = uv * d;
    r[4] = uv * gv;
  }, t.v);
  PerChannel k8(c, 8);
  for (long ch = 0; ch < c; ch++) {
    const double* sm = t.v + 5 * ch;
    const double inv = 1.0 / __builtin_sqrt(static_cast<double>(var[ch]) + eps);
    const double gm = sm[0] / m, um = sm[1] / m, G = sm[2] * inv / m, U = sm[3] * inv / m, Q = sm[4] / m;
    const double ga = gamma[ch];
    const T dg = static_cast<T>(m * inv * (Q - um * gm - U * G));
    dgamma[ch] = acc ? static_cast<T>(dgamma[ch] + dg) : dg;
    // gx = cx ((u - um) G + (g - gm) U + xhat r), gg = cg (u - um - xhat U), xhat = (x - mu) inv
    const double k[8] = {-ga * inv * inv, ga * inv, G, U, um, gm, (Q - um * gm - 3 * U * G) * inv, U * inv};
    for (int i = 0; i < 8; i++) k8.v[8 * ch + i] = static_cast<T>(k[i]);
  }
  planes(n, c, s, [&](long p, long ch) {
    const double* k = k8.v + 8 * ch;
    const T cx = static_cast<T>(k[0]), cg = static_cast<T>(k[1]), Gt = static_cast<T>(k[2]), Ut = static_cast<T>(k[3]);
    const T umT = static_cast<T>(k[4]), gmT = static_cast<T>(k[5]), rI = static_cast<T>(k[6]), uI = static_cast<T>(k[7]);
    const T muT = mean[ch];
    const long o = p * s;
    if (mask) {
      const T* pm = mask + o;
      for (long i = 0; i < s; i++) {
        const T d = x[o + i] - muT, uv = u[o + i] - umT;
        const T v = cx * (uv * Gt + (mk(pm, i, g[o + i]) - gmT) * Ut + d * rI);
        gx[o + i] = acc ? gx[o + i] + v : v;
        gg[o + i] = mk(pm, i, cg * (uv - d * uI));
      }
    } else if (acc) {
      for (long i = 0; i < s; i++) {
        const T d = x[o + i] - muT, uv = u[o + i] - umT;
        const T v = cx * (uv * Gt + (g[o + i] - gmT) * Ut + d * rI);
        gx[o + i] = gx[o + i] + v;
        gg[o + i] = cg * (uv - d * uI);
      }
    } else {
      for (long i = 0; i < s; i++) {
        const T d = x[o + i] - muT, uv = u[o + i] - umT;
        gx[o + i] = cx * (uv * Gt + (g[o + i] - gmT) * Ut + d * rI);
        gg[o + i] = cg * (uv - d * uI);
      }
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
                              void* dbeta, const void* mask) {
  if (dt == 0)
    batch_norm_backward_t(static_cast<const float*>(x), static_cast<const float*>(gy), static_cast<const float*>(mean),
                          static_cast<const float*>(var), static_cast<const float*>(gamma), eps, n, c, s,
                          static_cast<float*>(dx), static_cast<float*>(dgamma), static_cast<float*>(dbeta),
                          static_cast<const float*>(mask));
  else
    batch_norm_backward_t(static_cast<const double*>(x), static_cast<const double*>(gy),
                          static_cast<const double*>(mean), static_cast<const double*>(var),
                          static_cast<const double*>(gamma), eps, n, c, s, static_cast<double*>(dx),
                          static_cast<double*>(dgamma), static_cast<double*>(dbeta), static_cast<const double*>(mask));
}

void GR_BN_ENTRY(bn_double_backward)(int dt, const void* x, const void* g, const void* u, const void* mean,
                                     const void* var, const void* gamma, double eps, long n, long c, long s, void* gx,
                                     void* gg, void* dgamma, int acc, const void* mask) {
  if (dt == 0)
    batch_norm_double_backward_t(static_cast<const float*>(x), static_cast<const float*>(g),
                                 static_cast<const float*>(u), static_cast<const float*>(mean),
                                 static_cast<const float*>(var), static_cast<const float*>(gamma), eps, n, c, s,
                                 static_cast<float*>(gx), static_cast<float*>(gg), static_cast<float*>(dgamma), acc != 0,
                                 static_cast<const float*>(mask));
  else
    batch_norm_double_backward_t(static_cast<const double*>(x), static_cast<const double*>(g),
                                 static_cast<const double*>(u), static_cast<const double*>(mean),
                                 static_cast<const double*>(var), static_cast<const double*>(gamma), eps, n, c, s,
                                 static_cast<double*>(gx), static_cast<double*>(gg), static_cast<double*>(dgamma),
                                 acc != 0, static_cast<const double*>(mask));
}

}  // namespace gr
