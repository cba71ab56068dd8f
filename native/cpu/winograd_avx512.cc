// AVX-512 transforms of the Winograd F(2x2, 3x3) and F(4x4, 3x3) convolutions (driver and
// construction: winograd.cc).
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
  // Lanes 1 .. 7 of a, then lane 0 (next0) or 1 (next1) of b.
  static V next0(V a, V b) { return _mm256_permutex2var_ps(a, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8), b); }
  static V next1(V a, V b) { return _mm256_permutex2var_ps(a, _mm256_setr_epi32(1, 2, 3, 4, 5, 6, 7, 9), b); }
  static V fmadd(float k, V a, V b) { return _mm256_fmadd_ps(_mm256_set1_ps(k), a, b); }
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
  static V next0(V a, V b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), b);
  }
  static V next1(V a, V b) {
    return _mm512_permutex2var_ps(a, _mm512_setr_epi32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17), b);
  }
  static V fmadd(float k, V a, V b) { return _mm512_fmadd_ps(_mm512_set1_ps(k), a, b); }
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

// Software prefetch of the n floats at p, g_transform_prefetch_bytes further on (common.h). The
// transforms read (and write) a map's rows in memory order, but a plane is 4 KB or less and the
// hardware prefetchers did not keep up: in the F(4x4) forward of
// [500, 16, 32, 32], half of the input transform's time was its first loads of each row (perf
// annotate). Measured with two threads (bench/native-results.md, session 6): that forward and
// its input gradient 7.0 -> 5.3 ms, the weight gradient 7.2 -> 6.6 ms, the 32-channel 16x16
// layer 6.1 -> 5.2 ms; 1 KB ahead gained about half of that, 4 KB the same as 2 KB.
template <class W>
inline void prefetch_ahead(const float* p, long n) {
  const long ahead = g_transform_prefetch_bytes;
  if (ahead == 0) return;
  const uintptr_t q = reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(ahead);  // may lie past the tensor: a prefetch never faults
  for (long b = 0; b < n * 4; b += 64) _mm_prefetch(reinterpret_cast<const char*>(q + static_cast<uintptr_t>(b)), _MM_HINT_T0);
}

inline float* at(float* p, long off) { return reinterpret_cast<float*>(reinterpret_cast<uintptr_t>(p) + static_cast<uintptr_t>(off * 4)); }

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
      if (iy >= 0 && iy < h) prefetch_ahead<W>(at(plane, iy * w + 2 * t0 - pw), 2 * N + 2);
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
        prefetch_ahead<W>(o, 2 * N);
        W::store(o, k0, W::lo(y0, y1));
        if (k1) W::store(o + N, k1, W::hi(y0, y1));
      }
    }
  }
}


// The 1-D transforms of F(4, 3) (Lavin & Gray 2016, section 4; matrices derived in winograd.cc):
// z = B^T d (6 -> 6), y = A^T m (6 -> 4) and its adjoint r = A y (4 -> 6), written with shared
// partial sums.
template <class W, class V>
inline void bt4(const V* d, V* z) {
  const V t = W::fmadd(-4.f, d[2], d[4]), u = W::fmadd(-4.f, d[1], d[3]);  // d4 - 4 d2, d3 - 4 d1
  const V p = W::sub(d[4], d[2]), q = W::sub(d[3], d[1]);
  z[0] = W::fmadd(4.f, d[0], W::fmadd(-5.f, d[2], d[4]));
  z[1] = W::add(t, u);
  z[2] = W::sub(t, u);
  z[3] = W::fmadd(2.f, q, p);
  z[4] = W::fmadd(-2.f, q, p);
  z[5] = W::fmadd(4.f, d[1], W::fmadd(-5.f, d[3], d[5]));
}
template <class W, class V>
inline void at4(const V* m, V* y) {
  const V a = W::add(m[1], m[2]), b = W::sub(m[1], m[2]), c = W::add(m[3], m[4]), d = W::sub(m[3], m[4]);
  y[0] = W::add(W::add(m[0], a), c);
  y[1] = W::fmadd(2.f, d, b);
  y[2] = W::fmadd(4.f, c, a);
  y[3] = W::add(W::fmadd(8.f, d, b), m[5]);
}
template <class W, class V>
inline void a4(const V* y, V* r) {
  const V e = W::add(y[0], y[2]), o = W::add(y[1], y[3]);
  const V e2 = W::fmadd(4.f, y[2], y[0]), o2 = W::fmadd(8.f, y[3], W::add(y[1], y[1]));
  r[0] = y[0];
  r[1] = W::add(e, o);
  r[2] = W::sub(e, o);
  r[3] = W::add(e2, o2);
  r[4] = W::sub(e2, o2);
  r[5] = y[3];
}

// F(4x4, 3x3) input transform: tile (ty, tx) covers padded rows 4 ty .. 4 ty + 5 and columns
// 4 tx .. 4 tx + 5; V_xi with xi = 6 i + j.
template <class W>
void in_rows4(const float* plane, long h, long w, long ph, long pw, long ty0, long ty1, long tw, float* v, long ldxi) {
  using V = typename W::V;
  constexpr long N = W::N;
  for (long t0 = 0; t0 < tw; t0 += N) {
    // Lane l of the load at column offset k N (k < 4) reads input column 4 t0 + k N + l - pw: split
    // four ways they give columns 4t .. 4t + 3 of tiles t = t0 .. t0 + N - 1; columns 4t + 4 and
    // 4t + 5 are those of the next tile, the last lane's from the fifth load (offset 4N).
    typename W::M cm[5];
    for (int k = 0; k < 5; k++) {
      const long c0 = 4 * t0 + k * N - pw;
      cm[k] = lanes<W>(-c0, w - c0);
    }
    const typename W::M m = lanes<W>(0, tw - t0);
    auto row = [&](long py, V* z) {  // z = (d B)_j for padded row py, j < 6
      const long iy = py - ph;
      if (iy < 0 || iy >= h) {
        for (int k = 0; k < 6; k++) z[k] = W::zero();
        return;
      }
      V a[5];
      prefetch_ahead<W>(at(plane, iy * w + 4 * t0 - pw), 4 * N);
      for (int k = 0; k < 5; k++) a[k] = W::load(cm[k], at(plane, iy * w + 4 * t0 + k * N - pw));
      const V e0 = W::even(a[0], a[1]), o0 = W::odd(a[0], a[1]), e1 = W::even(a[2], a[3]), o1 = W::odd(a[2], a[3]);
      V d[6];
      d[0] = W::even(e0, e1);
      d[1] = W::even(o0, o1);
      d[2] = W::odd(e0, e1);
      d[3] = W::odd(o0, o1);
      d[4] = W::next0(d[0], a[4]);
      d[5] = W::next1(d[1], a[4]);
      bt4<W>(d, z);
    };
    V z[6][6];
    row(4 * ty0, z[0]);
    row(4 * ty0 + 1, z[1]);
    for (long ty = ty0; ty < ty1; ty++) {
      for (int r = 2; r < 6; r++) row(4 * ty + r, z[r]);
      float* vt = v + (ty - ty0) * tw + t0;
      for (int j = 0; j < 6; j++) {  // V_ij = (B^T (d B))_ij
        V c[6], o[6];
        for (int r = 0; r < 6; r++) c[r] = z[r][j];
        bt4<W>(c, o);
        for (int i = 0; i < 6; i++) W::store(vt + (6 * i + j) * ldxi, m, o[i]);
      }
      for (int k = 0; k < 6; k++) {  // rows 4 ty + 4, 4 ty + 5 are the next tile row's first two
        z[0][k] = z[4][k];
        z[1][k] = z[5][k];
      }
    }
  }
}

template <class W>
void out_rows4(const float* m, long ldxi, long tw, long ty0, long ty1, float* y, long oh, long ow) {
  using V = typename W::V;
  constexpr long N = W::N;
  for (long t0 = 0; t0 < tw; t0 += N) {
    const typename W::M mk = lanes<W>(0, tw - t0);
    const long n = ow - 4 * t0;
    typename W::M km[4];
    for (int k = 0; k < 4; k++) km[k] = lanes<W>(0, n - k * N);
    for (long ty = ty0; ty < ty1; ty++) {
      const float* mt = m + (ty - ty0) * tw + t0;
      V s[4][6];  // (A^T M)_rj
      for (int j = 0; j < 6; j++) {
        V c[6], o[4];
        for (int i = 0; i < 6; i++) c[i] = W::load(mk, mt + (6 * i + j) * ldxi);
        at4<W>(c, o);
        for (int r = 0; r < 4; r++) s[r][j] = o[r];
      }
      const long rows = oh - 4 * ty < 4 ? oh - 4 * ty : 4;
      for (long r = 0; r < rows; r++) {
        V c[4];  // columns 4t + k, interleaved into 4N consecutive columns
        at4<W>(s[r], c);
        const V a0 = W::lo(c[0], c[2]), a1 = W::hi(c[0], c[2]), b0 = W::lo(c[1], c[3]), b1 = W::hi(c[1], c[3]);
        const V out[4] = {W::lo(a0, b0), W::hi(a0, b0), W::lo(a1, b1), W::hi(a1, b1)};
        float* o = y + (4 * ty + r) * ow + 4 * t0;
        prefetch_ahead<W>(o, 4 * N);
        for (int k = 0; k < 4; k++)
          if (km[k]) W::store(o + k * N, km[k], out[k]);
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

// The F(4x4, 3x3) counterparts of wino_in_avx512, wino_out_avx512 and wino_gy_avx512: 6x6 input
// tiles 4 apart, 36 transform points xi = 6 i + j, 4x4 output tiles.
void wino4_in_avx512(const float* plane, long h, long w, long ph, long pw, long ty0, long ty1, long tw, float* v, long ldxi) {
  if (tw <= 8) in_rows4<W8>(plane, h, w, ph, pw, ty0, ty1, tw, v, ldxi);
  else in_rows4<W16>(plane, h, w, ph, pw, ty0, ty1, tw, v, ldxi);
}

void wino4_out_avx512(const float* m, long ldxi, long tw, long ty0, long ty1, float* y, long oh, long ow) {
  if (tw <= 8) out_rows4<W8>(m, ldxi, tw, ty0, ty1, y, oh, ow);
  else out_rows4<W16>(m, ldxi, tw, ty0, ty1, y, oh, ow);
}

// The same for T consecutive tiles of a block whatever their tile rows, eight along a ymm vector:
// a map under 8 tiles wide leaves lanes of wino4_out_avx512's rows empty (the small CNN conv2's 3
// tiles a row: its output transform took 18% of the forward). Tile f's outputs (r, k) go to
// y[off[f] + r ow + k] for r < lim[f] / 8, k < lim[f] % 8.
void wino4_out_tiles_avx512(const float* m, long ldxi, long T, const long* off, const long* lim, float* y, long ow) {
  using W = W8;
  using V = W::V;
  for (long f0 = 0; f0 < T; f0 += 8) {
    const __mmask8 mk = lanes<W>(0, T - f0);
    const long nt = T - f0 < 8 ? T - f0 : 8;
    V s[4][6];  // (A^T M)_rj
    for (int j = 0; j < 6; j++) {
      V c[6], o[4];
      for (int i = 0; i < 6; i++) c[i] = W::load(mk, m + (6 * i + j) * ldxi + f0);
      at4<W>(c, o);
      for (int r = 0; r < 4; r++) s[r][j] = o[r];
    }
    for (long r = 0; r < 4; r++) {
      V c[4];
      at4<W>(s[r], c);
      const V a0 = W::lo(c[0], c[2]), a1 = W::hi(c[0], c[2]), b0 = W::lo(c[1], c[3]), b1 = W::hi(c[1], c[3]);
      const V out[4] = {W::lo(a0, b0), W::hi(a0, b0), W::lo(a1, b1), W::hi(a1, b1)};  // tiles 2q, 2q + 1 in the halves of out[q]
      for (long q = 0; q < nt; q++) {
        const long f = f0 + q, h = q & 1;
        if (r >= lim[f] / 8) continue;
        const __mmask8 cm = static_cast<__mmask8>(((1u << (lim[f] % 8)) - 1) << (4 * h));
        W::store(at(y, off[f] + r * ow - 4 * h), cm, out[q >> 1]);
      }
    }
  }
}

void wino4_gy_avx512(const float* g, long ldr, long op, long tw, float* dm, long ldxi) {
  for (long tx = 0; tx < tw; tx++)
    for (long o = 0; o < op; o += 16) {
      const float* p = g + 4 * tx * op + o;
      __m512 r[6][4];  // (A dY)_ic, column c of the tile at a time
      for (int c = 0; c < 4; c++) {
        __m512 y[4], t[6];
        for (int k = 0; k < 4; k++) y[k] = _mm512_loadu_ps(p + k * ldr + c * op);
        a4<W16>(y, t);
        for (int i = 0; i < 6; i++) r[i][c] = t[i];
      }
      float* out = dm + tx * op + o;
      for (int i = 0; i < 6; i++) {  // dM_ij = ((A dY) A^T)_ij
        __m512 t[6];
        a4<W16>(r[i], t);
        for (int j = 0; j < 6; j++) _mm512_storeu_ps(out + (6 * i + j) * ldxi, t[j]);
      }
    }
}

namespace {

// The input gradient as the forward's adjoint (winograd.cc, backward_input_adjoint): the transforms
// of a block's tiles, 16 tiles a vector (T a multiple of 16), with the matrices of Lavin & Gray 2016
// section 4.1 (F(2x2, 3x3)) and section 4's Toom-Cook construction (F(4x4, 3x3), see winograd.cc).
template <int M>
struct AdjMat;
template <>
struct AdjMat<2> {
  static constexpr int S = 4;
  static constexpr float AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
  static constexpr float BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
};
template <>
struct AdjMat<4> {
  static constexpr int S = 6;
  static constexpr float AT[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
  static constexpr float BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                     {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
};

// out_ij = sum_a K[a][i] sum_b K[b][j] in_ab for R x R inputs and O x O outputs, 16 tiles a vector:
// in_ab of tile t at in[(a R + b) ldi + t], out_ij at out[(i O + j) ldo + t]. Both adjoint
// transforms are this: dM = A dY A^T (K = A^T, R = M, O = S) and dd = B dV B^T (K = B^T, R = O = S).
template <int R, int O, const float (&K)[R][O]>
void sandwich(const float* in, long ldi, long T, float* out, long ldo) {
  for (long t = 0; t < T; t += 16) {
    __m512 h[R][O];
#pragma GCC unroll 8
    for (int a = 0; a < R; a++) {
      __m512 x[R];
#pragma GCC unroll 8
      for (int b = 0; b < R; b++) x[b] = _mm512_loadu_ps(in + (a * R + b) * ldi + t);
#pragma GCC unroll 8
      for (int j = 0; j < O; j++) {
        __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int b = 0; b < R; b++)
          if (K[b][j] != 0.f) s = _mm512_fmadd_ps(_mm512_set1_ps(K[b][j]), x[b], s);
        h[a][j] = s;
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < O; i++)
#pragma GCC unroll 8
      for (int j = 0; j < O; j++) {
        __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 8
        for (int a = 0; a < R; a++)
          if (K[a][i] != 0.f) s = _mm512_fmadd_ps(_mm512_set1_ps(K[a][i]), h[a][j], s);
        _mm512_storeu_ps(out + (i * O + j) * ldo + t, s);
      }
  }
}

// dM = A dY A^T (the output transform's adjoint) and dd = B dV B^T (the input transform's).
template <int M>
void adj_gy(const float* yg, long lds, long T, float* dm, long ldxi) {
  sandwich<M, AdjMat<M>::S, AdjMat<M>::AT>(yg, lds, T, dm, ldxi);
}
template <int M>
void adj_in(const float* dv, long ldxi, long T, float* q, long ldq) {
  sandwich<AdjMat<M>::S, AdjMat<M>::S, AdjMat<M>::BT>(dv, ldxi, T, q, ldq);
}

}  // namespace

void wino_adj_gy_avx512(int m, const float* yg, long lds, long T, float* dm, long ldxi) {
  if (m == 4) adj_gy<4>(yg, lds, T, dm, ldxi);
  else adj_gy<2>(yg, lds, T, dm, ldxi);
}

void wino_adj_in_avx512(int m, const float* dv, long ldxi, long T, float* q, long ldq) {
  if (m == 4) adj_in<4>(dv, ldxi, T, q, ldq);
  else adj_in<2>(dv, ldxi, T, q, ldq);
}

}  // namespace gr
