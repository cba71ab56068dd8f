// Pooling kernels: max-pool with argmax indices, the gather at the indices and its adjoint scatter,
// average pooling and its adjoint. Each parallelizes over independent planes.
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

// The reference's rule (src/backends/cpu/pool.ts): the first max wins; a NaN wins over any number
// (so it is not hidden), the first NaN over later ones.
template <class T>
inline bool beats(T v, T best) {
  return v > best || (v != v && best == best);
}

// Windows that never touch padding: the first element seeds the max, no bounds checks.
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
    for (long p = b; p < e; p++) {
      const T* xp = x + p * HW;
      const int32_t* ip = idx + p * L;
      T* op = out + p * L;
#pragma GCC unroll 4
      for (long k = 0; k < L; k++) op[k] = xp[ip[k]];
    }
  });
}

template <class T>
void scatter_t(const T* gy, const int32_t* idx, T* out, const Geom& g) {
  const long L = g.oh * g.ow, HW = g.h * g.w;
  // Each plane is cleared with one memset (it stays in L1) and the gradients written at their
  // argmaxes: assigned where the windows tile the plane without overlap (each element has at most
  // one window), accumulated otherwise. (Clearing row by row between the writes cost a library call
  // per row, most of the kernel's time.)
  const bool tiles = g.ph == 0 && g.pw == 0 && g.sh >= g.kh && g.sw >= g.kw;
  parallel_for(g.n * g.c, 16, [&](long b, long e) {
    for (long p = b; p < e; p++) {
      T* plane = out + p * HW;
      const T* gp = gy + p * L;
      const int32_t* ip = idx + p * L;
      std::memset(plane, 0, sizeof(T) * HW);
      if (tiles)
        for (long k = 0; k < L; k++) plane[ip[k]] = gp[k];
      else
        for (long k = 0; k < L; k++) plane[ip[k]] += gp[k];
    }
  });
}

// Window sums in double, rounded once (the reference's order: taps row by row). One window's sum is
// a chain of dependent adds, so eight planes go together: eight independent chains, each summing
// its window in the same order (the same bits as one plane at a time, at several times the speed).
template <class T>
void avgpool_t(const T* x, T* out, const Geom& g) {
  const double inv = 1.0 / static_cast<double>(g.kh * g.kw);
  const long L = g.oh * g.ow, HW = g.h * g.w, P = g.n * g.c;
  constexpr long G = 8;
  // np planes from p0 (np = G as a constant for the full groups, so the lane loops unroll)
  auto group = [&](long p0, auto npc) {
    const long np = npc;
    const T* base = x + p0 * HW;
    for (long y = 0; y < g.oh; y++)
      for (long xx = 0; xx < g.ow; xx++) {
        double s[G] = {};
        for (long i = 0; i < g.kh; i++) {
          const long hy = y * g.sh - g.ph + i;
          if (hy < 0 || hy >= g.h) continue;
          for (long j = 0; j < g.kw; j++) {
            const long wx = xx * g.sw - g.pw + j;
            if (wx < 0 || wx >= g.w) continue;
            const T* v = base + hy * g.w + wx;
            for (long q = 0; q < np; q++) s[q] += v[q * HW];
          }
        }
        for (long q = 0; q < np; q++) out[(p0 + q) * L + y * g.ow + xx] = static_cast<T>(s[q] * inv);
      }
  };
  parallel_for((P + G - 1) / G, 1, [&](long gb, long ge) {
    for (long grp = gb; grp < ge; grp++) {
      if (P - grp * G >= G) group(grp * G, std::integral_constant<long, G>{});
      else group(grp * G, P - grp * G);
    }
  });
}

template <class T>
void avgpool_backward_t(const T* gy, T* out, const Geom& g) {
  const double inv = 1.0 / static_cast<double>(g.kh * g.kw);
  const long L = g.oh * g.ow, HW = g.h * g.w;
  const bool tiles = g.ph == 0 && g.pw == 0 && g.sh >= g.kh && g.sw >= g.kw && (g.oh - 1) * g.sh + g.kh <= g.h &&
                     (g.ow - 1) * g.sw + g.kw <= g.w;
  parallel_for(g.n * g.c, 4, [&](long b, long e) {
    for (long p = b; p < e; p++) {
      T* plane = out + p * HW;
      std::memset(plane, 0, sizeof(T) * HW);
      if (tiles) {
        // Windows inside the plane, none overlapping: each element gets its window's value once
        // (0 + v, as the accumulation gives: +0 for v = -0), no bounds checks.
        for (long y = 0; y < g.oh; y++)
          for (long xx = 0; xx < g.ow; xx++) {
            const T v = static_cast<T>(gy[p * L + y * g.ow + xx] * inv);
            for (long i = 0; i < g.kh; i++) {
              T* row = plane + (y * g.sh + i) * g.w + xx * g.sw;
              for (long j = 0; j < g.kw; j++) row[j] = T(0) + v;
            }
          }
        continue;
      }
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

}  // namespace

void k_max_pool2d(int dt, const void* x, void* out, int32_t* idx, const Geom& g) {
  GR_DT(maxpool_t(F(x), FO(out), idx, g), maxpool_t(D(x), DO(out), idx, g))
}
void k_max_pool_gather(int dt, const void* x, const int32_t* idx, void* out, const Geom& g, long blocks) {
  const long in = g.n * g.c * g.h * g.w, on = g.n * g.c * g.oh * g.ow;
  for (long b = 0; b < blocks; b++)
    GR_DT(gather_t(F(x) + b * in, idx, FO(out) + b * on, g), gather_t(D(x) + b * in, idx, DO(out) + b * on, g))
}
void k_max_pool_scatter(int dt, const void* gy, const int32_t* idx, void* out, const Geom& g, long blocks) {
  const long in = g.n * g.c * g.oh * g.ow, on = g.n * g.c * g.h * g.w;
  for (long b = 0; b < blocks; b++)
    GR_DT(scatter_t(F(gy) + b * in, idx, FO(out) + b * on, g), scatter_t(D(gy) + b * in, idx, DO(out) + b * on, g))
}
void k_avg_pool2d(int dt, const void* x, void* out, const Geom& g) { GR_DT(avgpool_t(F(x), FO(out), g), avgpool_t(D(x), DO(out), g)) }
void k_avg_pool2d_backward(int dt, const void* gy, void* out, const Geom& g) {
  GR_DT(avgpool_backward_t(F(gy), FO(out), g), avgpool_backward_t(D(gy), DO(out), g))
}

}  // namespace gr
