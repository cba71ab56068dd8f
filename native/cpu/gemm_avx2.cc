// AVX2 + FMA micro-kernel, 6 x 16 (12 ymm accumulators). Compiled with -mavx2 -mfma in its own
// static library so the rest of the addon stays baseline x86-64; it includes no inline C++ library
// code whose out-of-line copies could leak AVX instructions into portable paths.
#include <immintrin.h>

#include "common.h"

namespace gr {

void ukr_avx2_6x16(long K, const float* a, const float* b, long ldb, float* c, long ldc, int acc) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (long k = 0; k < K; k++) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 t;
#define GR_ROW(r)                          \
  t = _mm256_broadcast_ss(a + r);          \
  c##r##0 = _mm256_fmadd_ps(t, b0, c##r##0); \
  c##r##1 = _mm256_fmadd_ps(t, b1, c##r##1);
    GR_ROW(0) GR_ROW(1) GR_ROW(2) GR_ROW(3) GR_ROW(4) GR_ROW(5)
#undef GR_ROW
    a += 6;
    b += ldb;
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
