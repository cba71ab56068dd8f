// AVX2 + FMA micro-kernel, 6 x 16 (12 ymm accumulators). Compiled with -mavx2 -mfma in its own
// static library so the rest of the addon stays baseline x86-64; it includes no inline C++ library
// code whose out-of-line copies could leak AVX instructions into portable paths.
#include <immintrin.h>

#include "common.h"

namespace gr {

// The micro-kernel body. MODE 0: A packed (MR values a k), row k of B at b + k * ldb. MODE 1 (implicit
// GEMM): row k of B at b + koff[k], straight from a padded image. MODE 2 (direct convolution): the MR
// A values of step k are the consecutive floats at a + koff[k] (pixels of the padded image), B is
// packed weights with row stride ldb. MODE 3 (direct weight gradient): the A value of row r at step k
// is arows[r][k] (runs of the padded image), B row k at b + k * ldb. See conv.cc.
template <int MODE>
__attribute__((always_inline)) static inline void ukr_avx2_6x16_body(long K, const float* a, const float* const* arows, const float* b, long ldb,
                                                              const long* koff, float* c, long ldc, int acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  const float* rw[6];
  for (int r = 0; r < 6; r++) rw[r] = MODE == 3 ? arows[r] : nullptr;
  for (long k = 0; k < K; k++) {
    const float* br = MODE == 1 ? b + koff[k] : b;
    const float* ar = MODE == 2 ? a + koff[k] : a;
    const __m256 b0 = _mm256_loadu_ps(br), b1 = _mm256_loadu_ps(br + 8);
    __m256 t;
#define GR_ROW(r)                          \
  t = _mm256_broadcast_ss(MODE == 3 ? rw[r] + k : ar + r); \
  c##r##0 = _mm256_fmadd_ps(t, b0, c##r##0); \
  c##r##1 = _mm256_fmadd_ps(t, b1, c##r##1);
    GR_ROW(0) GR_ROW(1) GR_ROW(2) GR_ROW(3) GR_ROW(4) GR_ROW(5)
#undef GR_ROW
    if (MODE < 2) a += 6;
    if (MODE != 1) b += ldb;
  }
#define GR_STORE(r)                                                            \
  {                                                                            \
    float* cr = c + r * ldc;                                                   \
    if (acc) {                                                                 \
      c##r##0 = _mm256_add_ps(c##r##0, _mm256_loadu_ps(cr));                   \
      c##r##1 = _mm256_add_ps(c##r##1, _mm256_loadu_ps(cr + 8));               \
    }                                                                          \
    _mm256_storeu_ps(cr, c##r##0);                                             \
    _mm256_storeu_ps(cr + 8, c##r##1);                                         \
  }
  GR_STORE(0) GR_STORE(1) GR_STORE(2) GR_STORE(3) GR_STORE(4) GR_STORE(5)
#undef GR_STORE
}

void ukr_avx2_6x16(long K, const float* a, const float* b, long ldb, float* c, long ldc, int acc) {
  ukr_avx2_6x16_body<0>(K, a, nullptr, b, ldb, nullptr, c, ldc, acc);
}

void ukr_avx2_6x16_off(long K, const float* a, const float* b, const long* koff, float* c, long ldc, int acc) {
  ukr_avx2_6x16_body<1>(K, a, nullptr, b, 0, koff, c, ldc, acc);
}

void ukr_avx2_6x16_aoff(long K, const float* a, const long* koff, const float* b, long ldb, float* c, long ldc, int acc) {
  ukr_avx2_6x16_body<2>(K, a, nullptr, b, ldb, koff, c, ldc, acc);
}

void ukr_avx2_6x16_rows(long K, const float* const* arows, const float* b, long ldb, float* c, long ldc, int acc) {
  ukr_avx2_6x16_body<3>(K, nullptr, arows, b, ldb, nullptr, c, ldc, acc);
}

// Peak probe: 12 independent FMA chains, no memory traffic. Returns the flops performed.
double probe_avx2(long iters) {
  __m256 x[12];
  const __m256 m = _mm256_set1_ps(0.999999f), d = _mm256_set1_ps(1e-7f);
  for (int i = 0; i < 12; i++) x[i] = _mm256_set1_ps(static_cast<float>(i));
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; i++) x[i] = _mm256_fmadd_ps(x[i], m, d);
  }
  __m256 s = x[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, x[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return 2.0 * 8 * 12 * static_cast<double>(iters) + (out[0] == 12345.f ? 1 : 0);
}

}  // namespace gr

namespace gr {

// AVX2 twin of nt4x4_avx512 (see there): 16 ymm partial sums in `part` (16 x 8 floats).
// REDUCE: start from zero and write the 16 finished sums to part[0..16) instead of lane partials.
template <bool REDUCE>
__attribute__((always_inline)) static inline void nt4x4_avx2_body(long K, long nq, const float* const* a, long sa,
                                                                   const float* const* b, long sb, float* part) {
  __m256 acc[16];
  for (int t = 0; t < 16; t++) acc[t] = REDUCE ? _mm256_setzero_ps() : _mm256_loadu_ps(part + 8 * t);
  alignas(32) float tail[16] = {};
  for (long q = 0; q < nq; q++) {
    const float *a0 = a[0] + q * sa, *a1 = a[1] + q * sa, *a2 = a[2] + q * sa, *a3 = a[3] + q * sa;
    const float *b0 = b[0] + q * sb, *b1 = b[1] + q * sb, *b2 = b[2] + q * sb, *b3 = b[3] + q * sb;
    long k = 0;
    for (; k + 8 <= K; k += 8) {
      const __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k), x2 = _mm256_loadu_ps(a2 + k),
                   x3 = _mm256_loadu_ps(a3 + k);
      const __m256 y0 = _mm256_loadu_ps(b0 + k), y1 = _mm256_loadu_ps(b1 + k), y2 = _mm256_loadu_ps(b2 + k),
                   y3 = _mm256_loadu_ps(b3 + k);
      acc[0] = _mm256_fmadd_ps(x0, y0, acc[0]); acc[1] = _mm256_fmadd_ps(x0, y1, acc[1]);
      acc[2] = _mm256_fmadd_ps(x0, y2, acc[2]); acc[3] = _mm256_fmadd_ps(x0, y3, acc[3]);
      acc[4] = _mm256_fmadd_ps(x1, y0, acc[4]); acc[5] = _mm256_fmadd_ps(x1, y1, acc[5]);
      acc[6] = _mm256_fmadd_ps(x1, y2, acc[6]); acc[7] = _mm256_fmadd_ps(x1, y3, acc[7]);
      acc[8] = _mm256_fmadd_ps(x2, y0, acc[8]); acc[9] = _mm256_fmadd_ps(x2, y1, acc[9]);
      acc[10] = _mm256_fmadd_ps(x2, y2, acc[10]); acc[11] = _mm256_fmadd_ps(x2, y3, acc[11]);
      acc[12] = _mm256_fmadd_ps(x3, y0, acc[12]); acc[13] = _mm256_fmadd_ps(x3, y1, acc[13]);
      acc[14] = _mm256_fmadd_ps(x3, y2, acc[14]); acc[15] = _mm256_fmadd_ps(x3, y3, acc[15]);
    }
    // Scalar tails collect separately; partial sums are lane-agnostic, so they join lane 0 at the end.
    const float* ar[4] = {a0, a1, a2, a3};
    const float* br[4] = {b0, b1, b2, b3};
    for (; k < K; k++)
      for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) tail[r * 4 + c] += ar[r][k] * br[c][k];
  }
  alignas(32) float lane[16][8];
  for (int t = 0; t < 16; t++) _mm256_store_ps(lane[t], acc[t]);
  for (int t = 0; t < 16; t++) {
    lane[t][0] += tail[t];
    if (REDUCE) {
      float sum = 0;
      for (int l = 0; l < 8; l++) sum += lane[t][l];
      part[t] = sum;
    } else {
      for (int l = 0; l < 8; l++) part[8 * t + l] = lane[t][l];
    }
  }
}

void nt4x4_avx2(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* part) {
  nt4x4_avx2_body<false>(K, nq, a, sa, b, sb, part);
}

void nt4x4_sum_avx2(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* out) {
  nt4x4_avx2_body<true>(K, nq, a, sa, b, sb, out);
}

}  // namespace gr
