// AVX-512 micro-kernel, 8 x 32 (16 zmm accumulators, two B vectors, broadcast A operands).
// Compiled with AVX-512 flags in its own static library; see gemm_avx2.cc for why it includes no
// inline C++ library code.
#include <immintrin.h>

#include "common.h"

namespace gr {

// The micro-kernel body. MODE 0: A packed (MR values a k), row k of B at b + k * ldb. MODE 1 (implicit
// GEMM): row k of B at b + koff[k], straight from a padded image. MODE 2 (direct convolution): the MR
// A values of step k are the consecutive floats at a + koff[k] (pixels of the padded image), B is
// packed weights with row stride ldb. MODE 3 (direct weight gradient): the A value of row r at step k
// is arows[r][k] (runs of the padded image), B row k at b + k * ldb. See conv.cc.
template <int MODE>
__attribute__((always_inline)) static inline void ukr_avx512_8x32_body(long K, const float* a, const float* const* arows, const float* b, long ldb,
                                                              const long* koff, float* c, long ldc, int acc) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  const float* rw[8];
  for (int r = 0; r < 8; r++) rw[r] = MODE == 3 ? arows[r] : nullptr;
  for (long k = 0; k < K; k++) {
    const float* br = MODE == 1 ? b + koff[k] : b;
    const float* ar = MODE == 2 ? a + koff[k] : a;
    const __m512 b0 = _mm512_loadu_ps(br), b1 = _mm512_loadu_ps(br + 16);
    __m512 t;
#define GR_ROW(r)                            \
  t = _mm512_set1_ps(MODE == 3 ? rw[r][k] : ar[r]); \
  c##r##0 = _mm512_fmadd_ps(t, b0, c##r##0); \
  c##r##1 = _mm512_fmadd_ps(t, b1, c##r##1);
    GR_ROW(0) GR_ROW(1) GR_ROW(2) GR_ROW(3) GR_ROW(4) GR_ROW(5) GR_ROW(6) GR_ROW(7)
#undef GR_ROW
    if (MODE < 2) a += 8;
    if (MODE != 1) b += ldb;
  }
#define GR_STORE(r)                                                \
  {                                                                \
    float* cr = c + r * ldc;                                       \
    if (acc) {                                                     \
      c##r##0 = _mm512_add_ps(c##r##0, _mm512_loadu_ps(cr));       \
      c##r##1 = _mm512_add_ps(c##r##1, _mm512_loadu_ps(cr + 16));  \
    }                                                              \
    _mm512_storeu_ps(cr, c##r##0);                                 \
    _mm512_storeu_ps(cr + 16, c##r##1);                            \
  }
  GR_STORE(0) GR_STORE(1) GR_STORE(2) GR_STORE(3) GR_STORE(4) GR_STORE(5) GR_STORE(6) GR_STORE(7)
#undef GR_STORE
}

void ukr_avx512_8x32(long K, const float* a, const float* b, long ldb, float* c, long ldc, int acc) {
  ukr_avx512_8x32_body<0>(K, a, nullptr, b, ldb, nullptr, c, ldc, acc);
}

void ukr_avx512_8x32_off(long K, const float* a, const float* b, const long* koff, float* c, long ldc, int acc) {
  ukr_avx512_8x32_body<1>(K, a, nullptr, b, 0, koff, c, ldc, acc);
}

void ukr_avx512_8x32_aoff(long K, const float* a, const long* koff, const float* b, long ldb, float* c, long ldc, int acc) {
  ukr_avx512_8x32_body<2>(K, a, nullptr, b, ldb, koff, c, ldc, acc);
}

void ukr_avx512_8x32_rows(long K, const float* const* arows, const float* b, long ldb, float* c, long ldc, int acc) {
  ukr_avx512_8x32_body<3>(K, nullptr, arows, b, ldb, nullptr, c, ldc, acc);
}

// The rows micro-kernel 8 x 16 (one B vector): for products of 16 or fewer columns, where the 8 x 32
// tile would compute as many zeros (the polyphase input gradient of a layer of 16 input channels).
void ukr_avx512_8x16_rows(long K, const float* const* arows, const float* b, long ldb, float* c, long ldc, int acc) {
  __m512 c0 = _mm512_setzero_ps(), c1 = _mm512_setzero_ps(), c2 = _mm512_setzero_ps(), c3 = _mm512_setzero_ps();
  __m512 c4 = _mm512_setzero_ps(), c5 = _mm512_setzero_ps(), c6 = _mm512_setzero_ps(), c7 = _mm512_setzero_ps();
  const float *a0 = arows[0], *a1 = arows[1], *a2 = arows[2], *a3 = arows[3];
  const float *a4 = arows[4], *a5 = arows[5], *a6 = arows[6], *a7 = arows[7];
  for (long k = 0; k < K; k++) {
    const __m512 bv = _mm512_loadu_ps(b + k * ldb);
    c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[k]), bv, c0);
    c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[k]), bv, c1);
    c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[k]), bv, c2);
    c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[k]), bv, c3);
    c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[k]), bv, c4);
    c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[k]), bv, c5);
    c6 = _mm512_fmadd_ps(_mm512_set1_ps(a6[k]), bv, c6);
    c7 = _mm512_fmadd_ps(_mm512_set1_ps(a7[k]), bv, c7);
  }
  const __m512 cs[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
  for (int r = 0; r < 8; r++) {
    float* cr = c + r * ldc;
    _mm512_storeu_ps(cr, acc ? _mm512_add_ps(cs[r], _mm512_loadu_ps(cr)) : cs[r]);
  }
}

double probe_avx512(long iters) {
  __m512 x[16];
  const __m512 m = _mm512_set1_ps(0.999999f), d = _mm512_set1_ps(1e-7f);
  for (int i = 0; i < 16; i++) x[i] = _mm512_set1_ps(static_cast<float>(i));
  for (long it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) x[i] = _mm512_fmadd_ps(x[i], m, d);
  }
  __m512 s = x[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, x[i]);
  return 2.0 * 16 * 16 * static_cast<double>(iters) + (_mm512_reduce_add_ps(s) == 12345.f ? 1 : 0);
}

}  // namespace gr

namespace gr {

// Dot-product tile for C += sum over q < nq of A_q B_q^T with both operands contiguous along k
// (conv weight gradients): 4 rows of A against 4 rows of B, the q-th pair `sa` and `sb` elements
// further on; 16 zmm partial sums kept in `part` (16 x 16 floats) across calls, no packing. Rows
// past the edge are given as duplicates by the caller and their sums ignored.
// REDUCE: start from zero and write the 16 finished sums to part[0..16) instead of lane partials.
template <bool REDUCE>
__attribute__((always_inline)) static inline void nt4x4_avx512_body(long K, long nq, const float* const* a, long sa,
                                                                     const float* const* b, long sb, float* part) {
  __m512 acc[16];
  for (int t = 0; t < 16; t++) acc[t] = REDUCE ? _mm512_setzero_ps() : _mm512_loadu_ps(part + 16 * t);
  for (long q = 0; q < nq; q++) {
    const float *a0 = a[0] + q * sa, *a1 = a[1] + q * sa, *a2 = a[2] + q * sa, *a3 = a[3] + q * sa;
    const float *b0 = b[0] + q * sb, *b1 = b[1] + q * sb, *b2 = b[2] + q * sb, *b3 = b[3] + q * sb;
    long k = 0;
#define GR_NT_STEP(LOAD)                                                                              \
  {                                                                                                   \
    const __m512 x0 = LOAD(a0), x1 = LOAD(a1), x2 = LOAD(a2), x3 = LOAD(a3);                          \
    const __m512 y0 = LOAD(b0), y1 = LOAD(b1), y2 = LOAD(b2), y3 = LOAD(b3);                          \
    acc[0] = _mm512_fmadd_ps(x0, y0, acc[0]); acc[1] = _mm512_fmadd_ps(x0, y1, acc[1]);               \
    acc[2] = _mm512_fmadd_ps(x0, y2, acc[2]); acc[3] = _mm512_fmadd_ps(x0, y3, acc[3]);               \
    acc[4] = _mm512_fmadd_ps(x1, y0, acc[4]); acc[5] = _mm512_fmadd_ps(x1, y1, acc[5]);               \
    acc[6] = _mm512_fmadd_ps(x1, y2, acc[6]); acc[7] = _mm512_fmadd_ps(x1, y3, acc[7]);               \
    acc[8] = _mm512_fmadd_ps(x2, y0, acc[8]); acc[9] = _mm512_fmadd_ps(x2, y1, acc[9]);               \
    acc[10] = _mm512_fmadd_ps(x2, y2, acc[10]); acc[11] = _mm512_fmadd_ps(x2, y3, acc[11]);           \
    acc[12] = _mm512_fmadd_ps(x3, y0, acc[12]); acc[13] = _mm512_fmadd_ps(x3, y1, acc[13]);           \
    acc[14] = _mm512_fmadd_ps(x3, y2, acc[14]); acc[15] = _mm512_fmadd_ps(x3, y3, acc[15]);           \
  }
#define GR_LOADU(p) _mm512_loadu_ps(p + k)
    for (; k + 16 <= K; k += 16) GR_NT_STEP(GR_LOADU)
    if (k < K) {
      const __mmask16 m = static_cast<__mmask16>((1u << (K - k)) - 1u);
#define GR_LOADM(p) _mm512_maskz_loadu_ps(m, p + k)
      GR_NT_STEP(GR_LOADM)
#undef GR_LOADM
    }
#undef GR_LOADU
  }
#undef GR_NT_STEP
  if (REDUCE)
    for (int t = 0; t < 16; t++) part[t] = _mm512_reduce_add_ps(acc[t]);
  else
    for (int t = 0; t < 16; t++) _mm512_storeu_ps(part + 16 * t, acc[t]);
}

void nt4x4_avx512(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* part) {
  nt4x4_avx512_body<false>(K, nq, a, sa, b, sb, part);
}

void nt4x4_sum_avx512(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* out) {
  nt4x4_avx512_body<true>(K, nq, a, sa, b, sb, out);
}

}  // namespace gr

namespace gr {

// Direct input gradient of a stride-1 convolution for one image, 32 pixels of a dx row per pair of
// zmm accumulators, four rows at a time:
//   dx[c, y, x] = sum over i, j, o of w[o, c, i, j] * gy[o, y + ph - i, x + pw - j]
// (the terms whose gy index falls outside [0, oh) x [0, ow) dropped). For each column tap j the
// lanes' and rows' validity is one set of load masks; the loop over o then loads each of the
// 4 + KH - 1 gy rows the block reads once (shifted by j) and multiplies it into every output row it
// reaches, against the KH broadcast weights: no branches, and one load per KH FMAs where a row is
// used by all KH taps. wt is [C, KH, kw, O] (contiguous over o); d = {O, C, h, w, oh, ow, kh, kw, ph, pw}.
// A masked store only where the mask is partial: a full one is a plain store (masked stores of
// zmm are several times slower on some cores, Zen 4 among them).
static inline void store_masked(float* p, __mmask16 m, __m512 v) {
  if (m == 0xffff) _mm512_storeu_ps(p, v);
  else if (m) _mm512_mask_storeu_ps(p, m, v);
}

template <int KH>
static void dx_rows_kh(const float* gy, const float* wt, float* dx, const long* d) {
  constexpr int R = 4, NR = R + KH - 1;
  const long O = d[0], C = d[1], h = d[2], wd = d[3], oh = d[4], ow = d[5], kw = d[7], ph = d[8], pw = d[9];
  const long plane = oh * ow;
  for (long c = 0; c < C; c++)
    for (long x0 = 0; x0 < wd; x0 += 32)
      for (long y0 = 0; y0 < h; y0 += R) {
        __m512 acc[R][2];
#pragma GCC unroll 4
        for (int a = 0; a < R; a++) acc[a][0] = acc[a][1] = _mm512_setzero_ps();
        for (long j = 0; j < kw; j++) {
          // Lanes l read gy column x0 + l + pw - j: valid for lo <= l < hi.
          long lo = j - pw - x0, hi = ow - x0 - pw + j;
          if (hi > wd - x0) hi = wd - x0;
          if (hi > 32) hi = 32;
          if (lo < 0) lo = 0;
          if (lo >= hi) continue;
          const unsigned long long bits = ((1ull << hi) - 1) & ~((1ull << lo) - 1);
          // Block row rr reads gy row y0 + ph - (KH - 1) + rr, which output row a uses with tap
          // i = a + KH - 1 - rr.
          __mmask16 m0[NR], m1[NR];
          const float* g[NR];
          bool any = false;
          for (int rr = 0; rr < NR; rr++) {
            const long r = y0 + ph - (KH - 1) + rr;
            const bool ok = r >= 0 && r < oh;
            any = any || ok;
            m0[rr] = static_cast<__mmask16>(ok ? bits : 0);
            m1[rr] = static_cast<__mmask16>(ok ? bits >> 16 : 0);
            g[rr] = gy + (ok ? r * ow : 0) + x0 + pw - j;
          }
          if (!any) continue;
          const float* wp = wt + (c * KH * kw + j) * O;
          for (long o = 0; o < O; o++) {
            __m512 wv[KH];
#pragma GCC unroll 8
            for (int i = 0; i < KH; i++) wv[i] = _mm512_set1_ps(wp[i * kw * O + o]);
            const long off = o * plane;
#pragma GCC unroll 16
            for (int rr = 0; rr < NR; rr++) {
              const __m512 v0 = _mm512_maskz_loadu_ps(m0[rr], g[rr] + off);
              const __m512 v1 = _mm512_maskz_loadu_ps(m1[rr], g[rr] + off + 16);
#pragma GCC unroll 4
              for (int a = 0; a < R; a++) {
                const int i = a + KH - 1 - rr;
                if (i < 0 || i >= KH) continue;
                acc[a][0] = _mm512_fmadd_ps(wv[i], v0, acc[a][0]);
                acc[a][1] = _mm512_fmadd_ps(wv[i], v1, acc[a][1]);
              }
            }
          }
        }
        const long n = wd - x0 < 32 ? wd - x0 : 32;
        const __mmask16 s0 = static_cast<__mmask16>(n >= 16 ? 0xffff : (1u << n) - 1);
        const __mmask16 s1 = static_cast<__mmask16>(n <= 16 ? 0 : n >= 32 ? 0xffff : (1u << (n - 16)) - 1);
#pragma GCC unroll 4
        for (int a = 0; a < R; a++)
          if (y0 + a < h) {
            float* out = dx + (c * h + y0 + a) * wd + x0;
            store_masked(out, s0, acc[a][0]);
            store_masked(out + 16, s1, acc[a][1]);
          }
      }
}

bool conv_dx_rows_avx512(const float* gy, const float* wt, float* dx, const long* d) {
  switch (d[6]) {
    case 1: dx_rows_kh<1>(gy, wt, dx, d); return true;
    case 2: dx_rows_kh<2>(gy, wt, dx, d); return true;
    case 3: dx_rows_kh<3>(gy, wt, dx, d); return true;
    case 4: dx_rows_kh<4>(gy, wt, dx, d); return true;
    case 5: dx_rows_kh<5>(gy, wt, dx, d); return true;
    case 7: dx_rows_kh<7>(gy, wt, dx, d); return true;
    default: return false;
  }
}

}  // namespace gr

namespace gr {

// The lanes of 32 output columns x0 .. x0 + gn - 1 whose column tap j reads inside the image row
// (0 <= x0 + l + j - pw < w), as a bit mask per tap, for the row kernels below.
template <int KW>
__attribute__((always_inline)) static inline void tap_masks(long x0, long gn, long wd, long pw, unsigned long long* xbits) {
#pragma GCC unroll 8
  for (int j = 0; j < KW; j++) {
    long lo = pw - j - x0, hi = wd + pw - j - x0;
    if (lo < 0) lo = 0;
    if (hi > gn) hi = gn;
    xbits[j] = lo >= hi ? 0 : ((1ull << hi) - 1) & ~((1ull << lo) - 1);
  }
}

// 32 floats of a shifted image row at p (two vectors), zero outside the lanes of mask m.
__attribute__((always_inline)) static inline void load_tap(const float* p, unsigned long long m, __m512& v0, __m512& v1) {
  v0 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m), p);
  v1 = _mm512_maskz_loadu_ps(static_cast<__mmask16>(m >> 16), p + 16);
}

// Direct weight gradient of a stride-1 convolution, one image, for few input channels:
//   dW[o, c, i, j] += sum over y, x of gy[o, y, x] * x[c, y + i - ph, x + j - pw]
// (terms reading outside the image dropped). A block of OB output channels keeps its OB*KH*KW sums
// as zmm lane partials (32 pixels of a gy row in two halves folded into one accumulator) while
// the rows of the map pass: per row, OB gy rows and, per tap, one masked load of the shifted image
// row against all OB of them. `lanes` holds the partials, 16 floats per (o, c, i, j), across images.
// d = {O, C, h, w, oh, ow, ph, pw}.
template <int KH, int KW, int OB>
static void dw_rows_t(const float* x, const float* gy, float* lanes, const long* d) {
  const long O = d[0], C = d[1], h = d[2], wd = d[3], oh = d[4], ow = d[5], ph = d[6], pw = d[7];
  for (long o0 = 0; o0 < O; o0 += OB)
    for (long c = 0; c < C; c++)
      for (long x0 = 0; x0 < ow; x0 += 32) {
        __m512 acc[OB][KH][KW];
        float* lp[OB];
#pragma GCC unroll 4
        for (int b = 0; b < OB; b++) {
          lp[b] = lanes + (((o0 + b) * C + c) * KH * KW) * 16;
#pragma GCC unroll 8
          for (int i = 0; i < KH; i++)
#pragma GCC unroll 8
            for (int j = 0; j < KW; j++) acc[b][i][j] = _mm512_loadu_ps(lp[b] + (i * KW + j) * 16);
        }
        // gy lanes: x0 + l < ow. Image lanes for column tap j: also 0 <= x0 + l + j - pw < w.
        const long gn = ow - x0 < 32 ? ow - x0 : 32;
        const unsigned long long gbits = (1ull << gn) - 1;
        const __mmask16 g0 = static_cast<__mmask16>(gbits), g1 = static_cast<__mmask16>(gbits >> 16);
        unsigned long long xbits[KW];
        tap_masks<KW>(x0, gn, wd, pw, xbits);
        for (long y = 0; y < oh; y++) {
          __m512 gv[OB][2];
#pragma GCC unroll 4
          for (int b = 0; b < OB; b++) {
            const float* gr = gy + ((o0 + b) * oh + y) * ow + x0;
            gv[b][0] = _mm512_maskz_loadu_ps(g0, gr);
            gv[b][1] = _mm512_maskz_loadu_ps(g1, gr + 16);
          }
#pragma GCC unroll 8
          for (int i = 0; i < KH; i++) {
            const long r = y + i - ph;
            const bool ok = r >= 0 && r < h;
            const float* xr = x + (c * h + (ok ? r : 0)) * wd + x0 - pw;
#pragma GCC unroll 8
            for (int j = 0; j < KW; j++) {
              __m512 v0, v1;
              load_tap(xr + j, ok ? xbits[j] : 0, v0, v1);
#pragma GCC unroll 4
              for (int b = 0; b < OB; b++) {
                acc[b][i][j] = _mm512_fmadd_ps(gv[b][0], v0, acc[b][i][j]);
                acc[b][i][j] = _mm512_fmadd_ps(gv[b][1], v1, acc[b][i][j]);
              }
            }
          }
        }
#pragma GCC unroll 4
        for (int b = 0; b < OB; b++)
#pragma GCC unroll 8
          for (int i = 0; i < KH; i++)
#pragma GCC unroll 8
            for (int j = 0; j < KW; j++) _mm512_storeu_ps(lp[b] + (i * KW + j) * 16, acc[b][i][j]);
      }
}

bool conv_dw_rows_avx512(const float* x, const float* gy, float* lanes, long kh, long kw, const long* d) {
  if (kh == 3 && kw == 3) {
    if (d[0] % 2 == 0) dw_rows_t<3, 3, 2>(x, gy, lanes, d);
    else dw_rows_t<3, 3, 1>(x, gy, lanes, d);
    return true;
  }
  if (kh == 5 && kw == 5) {
    dw_rows_t<5, 5, 1>(x, gy, lanes, d);
    return true;
  }
  return false;
}

}  // namespace gr

namespace gr {

// Direct forward of a stride-1 convolution, one image, for few input channels:
//   y[o, y, x] = sum over c, i, j of w[o, c, i, j] * x[c, y + i - ph, x + j - pw]
// (terms reading outside the image dropped). R output rows of OB channels (32 pixels, two zmm
// each) accumulate in registers; each shifted image row is loaded once per column tap (masked to
// the image) and multiplied into every output row and channel it reaches. wt is [C, KH, KW, O]
// (contiguous over o); d = {O, C, h, w, oh, ow, ph, pw}.
template <int KH, int KW, int OB, int R>
static void fwd_rows_t(const float* x, const float* wt, float* y, const long* d) {
  constexpr int NR = R + KH - 1;
  const long O = d[0], C = d[1], h = d[2], wd = d[3], oh = d[4], ow = d[5], ph = d[6], pw = d[7];
  for (long x0 = 0; x0 < ow; x0 += 32) {
    const long gn = ow - x0 < 32 ? ow - x0 : 32;
    unsigned long long xbits[KW];
    tap_masks<KW>(x0, gn, wd, pw, xbits);
    const unsigned long long sbits = (1ull << gn) - 1;
    const __mmask16 s0 = static_cast<__mmask16>(sbits), s1 = static_cast<__mmask16>(sbits >> 16);
    for (long o0 = 0; o0 < O; o0 += OB)
      for (long y0 = 0; y0 < oh; y0 += R) {
        __m512 acc[R][OB][2];
#pragma GCC unroll 4
        for (int a = 0; a < R; a++)
#pragma GCC unroll 8
          for (int b = 0; b < OB; b++) acc[a][b][0] = acc[a][b][1] = _mm512_setzero_ps();
        for (long c = 0; c < C; c++) {
          const float* wc = wt + c * KH * KW * O + o0;
#pragma GCC unroll 8
          for (int rr = 0; rr < NR; rr++) {
            // Block row rr is image row y0 + rr - ph, which output row a uses with tap i = rr - a.
            const long r = y0 + rr - ph;
            const bool ok = r >= 0 && r < h;
            const float* xr = x + (c * h + (ok ? r : 0)) * wd + x0 - pw;
#pragma GCC unroll 8
            for (int j = 0; j < KW; j++) {
              __m512 v0, v1;
              load_tap(xr + j, ok ? xbits[j] : 0, v0, v1);
#pragma GCC unroll 4
              for (int a = 0; a < R; a++) {
                const int i = rr - a;
                if (i < 0 || i >= KH) continue;
#pragma GCC unroll 8
                for (int b = 0; b < OB; b++) {
                  const __m512 wv = _mm512_set1_ps(wc[(i * KW + j) * O + b]);
                  acc[a][b][0] = _mm512_fmadd_ps(wv, v0, acc[a][b][0]);
                  acc[a][b][1] = _mm512_fmadd_ps(wv, v1, acc[a][b][1]);
                }
              }
            }
          }
        }
#pragma GCC unroll 4
        for (int a = 0; a < R; a++)
          if (y0 + a < oh)
#pragma GCC unroll 8
            for (int b = 0; b < OB; b++) {
              float* out = y + ((o0 + b) * oh + y0 + a) * ow + x0;
              store_masked(out, s0, acc[a][b][0]);
              store_masked(out + 16, s1, acc[a][b][1]);
            }
      }
  }
}

template <int KH, int KW>
static void fwd_rows_k(const float* x, const float* wt, float* y, const long* d) {
  if (d[0] % 8 == 0) fwd_rows_t<KH, KW, 8, 1>(x, wt, y, d);
  else if (d[0] % 4 == 0) fwd_rows_t<KH, KW, 4, 2>(x, wt, y, d);
  else if (d[0] % 2 == 0) fwd_rows_t<KH, KW, 2, 2>(x, wt, y, d);
  else fwd_rows_t<KH, KW, 1, 2>(x, wt, y, d);
}

bool conv_fwd_rows_avx512(const float* x, const float* wt, float* y, long kh, long kw, const long* d) {
  if (kh == 3 && kw == 3) fwd_rows_k<3, 3>(x, wt, y, d);
  else if (kh == 5 && kw == 5) fwd_rows_k<5, 5>(x, wt, y, d);
  else return false;
  return true;
}

}  // namespace gr
