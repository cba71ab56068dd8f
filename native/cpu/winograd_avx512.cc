// AVX-512 transforms of the Winograd F(2x2, 3x3) convolution (driver and construction: winograd.cc).
// Compiled with AVX-512 flags in its own static library; like gemm_avx2.cc it includes no inline
// C++ library code. Matrices (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural
// Networks", section 4.1, F(2x2, 3x3)):
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1].
// Transform point xi = 4 i + j is entry (i, j) of a 4x4 transformed tile. Tiles of one tile row run
// along the vector, 8 (ymm) or 16 (zmm) a step: Zen 4 splits a zmm operation in two, so rows of at
// most 8 tiles (maps up to 16 wide) take the half-width variant.
#include <immintrin.h>

#include <cstdint>

#include "common.h"

namespace gr {
namespace {

// Width-generic wrappers: W8 uses ymm registers and 8-bit masks, W16 zmm and 16-bit masks.
struct W8 {
  using V = __m256;
  using M = __mmask8;
  static constexpr long N = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(M m, const float* p) { return _mm256_maskz_loadu_ps(m, p); }
  static void store(float* p, M m, V v) { _mm256_mask_storeu_ps(p, m, v); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V even(V a, V b) { return _mm256_permutex2var_ps(a, _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14), b); }
  static V odd(V a, V b) { return _mm256_permutex2var_ps(a, _mm256_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15), b); }
  static V lo(V a, V b) { return _mm256_permutex2var_ps(a, _mm256_setr_epi32(0, 8, 1, 9, 2, 10, 3, 11), b); }
  static V hi(V a, V b) { return _mm256_permutex2var_ps(a, _mm256_setr_epi32(4, 12, 5, 13, 6, 14, 7, 15), b); }
};
struct W16 {
  using V = __m512;
  using M = __mmask16;
  static constexpr long N = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(M m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, M m, V v) { _mm512_mask_storeu_ps(p, m, v); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V sub(V a, V b) { return _mm512_sub_ps(a, b); }
  static V even(V a, V b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30), b);
  }
  static V odd(V a, V b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31), b);
  }
  static V lo(V a, V b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23), b);
  }
  static V hi(V a, V b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31), b);
  }
};

// Lanes [lo, hi) of a mask, clamped to [0, N).
template <class W>
inline typename W::M lanes(long lo, long hi) {
  if (lo < 0) lo = 0;
  if (hi > W::N) hi = W::N;
  if (hi <= lo) return 0;
  const uint32_t bits = ((hi >= 32 ? 0u : (1u << hi)) - 1u) & ~((1u << lo) - 1u);
  return static_cast<typename W::M>(bits);
}

// p + off without forming an out-of-range pointer in the language's sense (off may reach a
// little before the plane; the masked loads never touch those lanes).
inline const float* at(const float* p, long off) {
  return reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(off * 4));
}

template <class W>
void in_rows(const float* plane, long h, long w, long ph, long pw, long ty0, long ty1, long tw, float* v, long ldxi) {
  using V = typename W::V;
  constexpr long N = W::N;
  for (long t0 = 0; t0 < tw; t0 += N) {
    // Lane l of the load at column offset `off` reads input column 2 (t0 + l) + off - pw: offsets
    // 0 and N give columns 2t and 2t + 1 (split by even/odd), 2 and N + 2 give 2t + 2 and 2t + 3.
    const long offs[4] = {0, N, 2, N + 2};
    typename W::M cm[4];
    for (int k = 0; k < 4; k++) {
      const long c0 = 2 * t0 + offs[k] - pw;
      cm[k] = lanes<W>(-c0, w - c0);
    }
    const typename W::M m = lanes<W>(0, tw - t0);
    auto row = [&](long py, V* d) {  // padded row py at the four offsets
      const long iy = py - ph;
      for (int k = 0; k < 4; k++) d[k] = iy >= 0 && iy < h ? W::load(cm[k], at(plane, iy * w + 2 * t0 + offs[k] - pw)) : W::zero();
    };
    V d[4][4];
    row(2 * ty0, d[0]);
    row(2 * ty0 + 1, d[1]);
    for (long ty = ty0; ty < ty1; ty++) {
      row(2 * ty + 2, d[2]);
      row(2 * ty + 3, d[3]);
      // w_i = (B^T d)_i, then V_ij = (w_i B)_j on the even/odd split columns.
      float* vt = v + (ty - ty0) * tw + t0;
      for (int i = 0; i < 4; i++) {
        V wi[4];
        for (int k = 0; k < 4; k++) {
          switch (i) {
            case 0: wi[k] = W::sub(d[0][k], d[2][k]); break;
            case 1: wi[k] = W::add(d[1][k], d[2][k]); break;
            case 2: wi[k] = W::sub(d[2][k], d[1][k]); break;
            default: wi[k] = W::sub(d[1][k], d[3][k]); break;
          }
        }
        const V e0 = W::even(wi[0], wi[1]), o1 = W::odd(wi[0], wi[1]);  // columns 2t, 2t + 1
        const V e2 = W::even(wi[2], wi[3]), o3 = W::odd(wi[2], wi[3]);  // 2t + 2, 2t + 3
        float* o = vt + 4 * i * ldxi;
        W::store(o, m, W::sub(e0, e2));
        W::store(o + ldxi, m, W::add(o1, e2));
        W::store(o + 2 * ldxi, m, W::sub(e2, o1));
        W::store(o + 3 * ldxi, m, W::sub(o1, o3));
      }
      for (int k = 0; k < 4; k++) {  // rows 2 ty + 2, 2 ty + 3 are the next tile row's first two
        d[0][k] = d[2][k];
        d[1][k] = d[3][k];
      }
    }
  }
}

template <class W>
void out_rows(const float* m, long ldxi, long tw, long ty0, long ty1, float* y, long oh, long ow) {
  using V = typename W::V;
  constexpr long N = W::N;
  for (long t0 = 0; t0 < tw; t0 += N) {
    const typename W::M mk = lanes<W>(0, tw - t0);
    const long n = ow - 2 * t0;
    const typename W::M k0 = lanes<W>(0, n), k1 = lanes<W>(0, n - N);
    for (long ty = ty0; ty < ty1; ty++) {
      const float* mt = m + (ty - ty0) * tw + t0;
      V s[2][4];
      for (int j = 0; j < 4; j++) {
        const V m0 = W::load(mk, mt + j * ldxi), m1 = W::load(mk, mt + (4 + j) * ldxi);
        const V m2 = W::load(mk, mt + (8 + j) * ldxi), m3 = W::load(mk, mt + (12 + j) * ldxi);
        s[0][j] = W::add(W::add(m0, m1), m2);
        s[1][j] = W::sub(W::sub(m1, m2), m3);
      }
      const long rows = oh - 2 * ty < 2 ? oh - 2 * ty : 2;
      for (long r = 0; r < rows; r++) {
        const V y0 = W::add(W::add(s[r][0], s[r][1]), s[r][2]);  // column 2t
        const V y1 = W::sub(W::sub(s[r][1], s[r][2]), s[r][3]);  // column 2t + 1
        float* o = y + (2 * ty + r) * ow + 2 * t0;
        W::store(o, k0, W::lo(y0, y1));
        if (k1) W::store(o + N, k1, W::hi(y0, y1));
      }
    }
  }
}

}  // namespace

// V = B^T d B for the tiles tx < tw of tile rows ty0 <= ty < ty1 of one input plane (h x w,
// zero-padded by ph above and pw on the left; tile (ty, tx) covers padded rows 2 ty .. 2 ty + 3 and
// columns 2 tx .. 2 tx + 3), read straight from the plane with masked loads; V_xi of tile (ty, tx)
// goes to v[xi * ldxi + (ty - ty0) * tw + tx].
void wino_in_avx512(const float* plane, long h, long w, long ph, long pw, long ty0, long ty1, long tw, float* v, long ldxi) {
  if (tw <= 8) in_rows<W8>(plane, h, w, ph, pw, ty0, ty1, tw, v, ldxi);
  else in_rows<W16>(plane, h, w, ph, pw, ty0, ty1, tw, v, ldxi);
}

// Y = A^T M A for tiles tx < tw of tile rows ty0 <= ty < ty1 of one output plane y (oh x ow): M_xi
// of tile (ty, tx) at m[xi * ldxi + (ty - ty0) * tw + tx]; the last tile row and column are clipped
// when oh or ow is odd.
void wino_out_avx512(const float* m, long ldxi, long tw, long ty0, long ty1, float* y, long oh, long ow) {
  if (tw <= 8) out_rows<W8>(m, ldxi, tw, ty0, ty1, y, oh, ow);
  else out_rows<W16>(m, ldxi, tw, ty0, ty1, y, oh, ow);
}

// The weight gradient's transform of the output gradient, dM = A dY A^T (the adjoint of
// wino_out_avx512), with output channels along the vector: pixel (r, x) of the tile row's gradient
// holds its `op` channels (a multiple of 16) at g[r * ldr + x * op]; dM_xi of tile tx goes to
// dm[xi * ldxi + tx * op + o].
void wino_gy_avx512(const float* g, long ldr, long op, long tw, float* dm, long ldxi) {
  for (long tx = 0; tx < tw; tx++)
    for (long o = 0; o < op; o += 16) {
      const float* p = g + 2 * tx * op + o;
      const __m512 y00 = _mm512_loadu_ps(p), y01 = _mm512_loadu_ps(p + op);
      const __m512 y10 = _mm512_loadu_ps(p + ldr), y11 = _mm512_loadu_ps(p + ldr + op);
      // r_i = (A dY)_i with A = (A^T)^T = [1 0; 1 1; 1 -1; 0 -1], then dM_ij = (r_i A^T)_j.
      __m512 r[4][2];
      r[0][0] = y00, r[0][1] = y01;
      r[1][0] = _mm512_add_ps(y00, y10), r[1][1] = _mm512_add_ps(y01, y11);
      r[2][0] = _mm512_sub_ps(y00, y10), r[2][1] = _mm512_sub_ps(y01, y11);
      const __m512 zero = _mm512_setzero_ps();
      r[3][0] = _mm512_sub_ps(zero, y10), r[3][1] = _mm512_sub_ps(zero, y11);
      float* out = dm + tx * op + o;
      for (int i = 0; i < 4; i++) {
        _mm512_storeu_ps(out + (4 * i) * ldxi, r[i][0]);
        _mm512_storeu_ps(out + (4 * i + 1) * ldxi, _mm512_add_ps(r[i][0], r[i][1]));
        _mm512_storeu_ps(out + (4 * i + 2) * ldxi, _mm512_sub_ps(r[i][0], r[i][1]));
        _mm512_storeu_ps(out + (4 * i + 3) * ldxi, _mm512_sub_ps(zero, r[i][1]));
      }
    }
}

// d[c * ldd + r] = s[r * lds + c] for r < rows, c < cols: 8x8 blocks through ymm registers, the
// edges one float at a time.
void wino_transpose_avx512(const float* s, long rows, long cols, long lds, float* d, long ldd) {
  long r = 0;
  for (; r + 8 <= rows; r += 8) {
    long c = 0;
    for (; c + 8 <= cols; c += 8) {
      __m256 a[8], b[8];
      for (int k = 0; k < 8; k++) a[k] = _mm256_loadu_ps(s + (r + k) * lds + c);
      for (int k = 0; k < 8; k += 2) {
        b[k] = _mm256_unpacklo_ps(a[k], a[k + 1]);
        b[k + 1] = _mm256_unpackhi_ps(a[k], a[k + 1]);
      }
      for (int k = 0; k < 8; k += 4) {
        a[k] = _mm256_shuffle_ps(b[k], b[k + 2], 0x44);
        a[k + 1] = _mm256_shuffle_ps(b[k], b[k + 2], 0xee);
        a[k + 2] = _mm256_shuffle_ps(b[k + 1], b[k + 3], 0x44);
        a[k + 3] = _mm256_shuffle_ps(b[k + 1], b[k + 3], 0xee);
      }
      // a[0..3] hold columns 0,1,2,3 of rows 0-3 (low lanes) and 4,5,6,7 (high lanes); a[4..7] rows 4-7.
      for (int k = 0; k < 4; k++) {
        _mm256_storeu_ps(d + (c + k) * ldd + r, _mm256_permute2f128_ps(a[k], a[k + 4], 0x20));
        _mm256_storeu_ps(d + (c + k + 4) * ldd + r, _mm256_permute2f128_ps(a[k], a[k + 4], 0x31));
      }
    }
    for (; c < cols; c++)
      for (int k = 0; k < 8; k++) d[c * ldd + r + k] = s[(r + k) * lds + c];
  }
  for (; r < rows; r++)
    for (long c = 0; c < cols; c++) d[c * ldd + r] = s[r * lds + c];
}

}  // namespace gr
