// Philox normal draws for AVX-512 machines: the same values as elementwise.cc's random_t (Philox
// 4x32-10, u = philox_unit(r), Box-Muller a + b sqrt(-2 ln u0) cos(2 pi u1)), computed a block at a time so
// that Philox runs on 16 lanes of AVX-512 integers and the compiler vectorizes the two transcendental
// functions over eight doubles. ln and
// cos are branch-free polynomials accurate to about 1 ulp in double, where random_t calls libm: the
// float32 values are equal except when a double lands within an ulp of a float32 rounding boundary
// (none in 6.1 million draws; the kernel tests compare 200,000 exactly), float64 values agree to a
// few ulps. The draw was 90% of noise injection's extra step time on the ResNet (43 ns a value
// through libm; 8 ns with Philox scalar; see bench/native-results.md for the vectorized Philox).
//
// Compiled with AVX-512 flags in the avx512 static library. Like gemm_avx512.cc it includes no
// inline C++ library code (whose out-of-line copies could leak AVX-512 instructions into portable
// paths); its helpers have internal linkage, and Philox comes from philox.h, whose copy here has
// internal linkage too.
#include <immintrin.h>
#include <stdint.h>

#include "philox.h"

namespace gr {
namespace {

// ln u for u in (0, 1): u = m 2^e with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(f), f = (m-1)/(m+1),
// |f| < 0.172, as the odd series 2 (f + f^3/3 + ... + f^23/23) (the next term is below 2^-60 of it).
inline double log_unit(double u) {
  uint64_t bits;
  __builtin_memcpy(&bits, &u, 8);
  int32_t e = static_cast<int32_t>((bits >> 52) & 0x7ff) - 1023;
  const uint64_t mb = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
  double m;
  __builtin_memcpy(&m, &mb, 8);
  const bool big = m > 1.4142135623730951;
  m = big ? m * 0.5 : m;
  e += big ? 1 : 0;
  const double f = (m - 1.0) / (m + 1.0);
  const double s = f * f;
  double p = 1.0 / 23;
  p = p * s + 1.0 / 21;
  p = p * s + 1.0 / 19;
  p = p * s + 1.0 / 17;
  p = p * s + 1.0 / 15;
  p = p * s + 1.0 / 13;
  p = p * s + 1.0 / 11;
  p = p * s + 1.0 / 9;
  p = p * s + 1.0 / 7;
  p = p * s + 1.0 / 5;
  p = p * s + 1.0 / 3;
  const double lm = 2.0 * f + 2.0 * f * s * p;
  const double de = static_cast<double>(e);
  // ln 2 split so that de * hi is exact
  return de * 6.93147180369123816490e-01 + (de * 1.90821492927058770002e-10 + lm);
}

// cos(2 pi u) for u in (0, 1), reduced exactly on u (a dyadic with 25 significant bits): by symmetry
// to t in [0, 1/4] with a sign, then cos(2 pi t) for t <= 1/8 or sin(2 pi (1/4 - t)) above, each a
// Taylor polynomial on [0, pi/4] (the first omitted terms are below 2^-58).
inline double cos_2pi_unit(double u) {
  double t = u > 0.5 ? 1.0 - u : u;
  const bool flip = t > 0.25;
  t = flip ? 0.5 - t : t;
  const bool useSin = t > 0.125;
  const double x = 6.283185307179586 * (useSin ? 0.25 - t : t);
  const double x2 = x * x;
  double c = 1.0 / 20922789888000.0;  // 1/16!
  c = c * x2 - 1.0 / 87178291200.0;   // 1/14!
  c = c * x2 + 1.0 / 479001600.0;     // 1/12!
  c = c * x2 - 1.0 / 3628800.0;       // 1/10!
  c = c * x2 + 1.0 / 40320.0;         // 1/8!
  c = c * x2 - 1.0 / 720.0;           // 1/6!
  c = c * x2 + 1.0 / 24.0;
  c = c * x2 - 0.5;
  c = c * x2 + 1.0;
  double sn = 1.0 / 355687428096000.0;  // 1/17!
  sn = sn * x2 - 1.0 / 1307674368000.0; // 1/15!
  sn = sn * x2 + 1.0 / 6227020800.0;    // 1/13!
  sn = sn * x2 - 1.0 / 39916800.0;      // 1/11!
  sn = sn * x2 + 1.0 / 362880.0;        // 1/9!
  sn = sn * x2 - 1.0 / 5040.0;          // 1/7!
  sn = sn * x2 + 1.0 / 120.0;
  sn = sn * x2 - 1.0 / 6.0;
  sn = x + x * x2 * sn;
  const double v = useSin ? sn : c;
  return flip ? -v : v;
}

// The 32 x 32 -> 64-bit products of the 16 lanes of a with the constant m (held in the low half of
// each 64-bit lane of mm): their high and low 32-bit halves, lane by lane (the even lanes from one
// vpmuludq, the odd lanes, shifted down, from a second).
inline void mulhilo16(__m512i a, __m512i mm, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, mm);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), mm);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// Philox 4x32-10 (philox.h, the same rounds and keys) of the 16 counters ctr0 .. ctr0 + 15, each
// (ctr lo, ctr hi, stream, 0): the first two output words of each, as the uniforms of philox_unit.
inline void philox_units16(uint64_t ctr0, uint32_t stream, uint32_t k0, uint32_t k1, double* u0, double* u1) {
  const __m512i lo0 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(ctr0)));
  __m512i c0 = _mm512_add_epi32(lo0, _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  // A lane whose low word wrapped carries into the high word.
  const __mmask16 carry = _mm512_cmplt_epu32_mask(c0, lo0);
  const __m512i hi0 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(ctr0 >> 32)));
  __m512i c1 = _mm512_mask_add_epi32(hi0, carry, hi0, _mm512_set1_epi32(1));
  __m512i c2 = _mm512_set1_epi32(static_cast<int>(stream)), c3 = _mm512_setzero_si512();
  __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0)), key1 = _mm512_set1_epi32(static_cast<int>(k1));
  const __m512i m0 = _mm512_set1_epi64(0xd2511f53LL), m1 = _mm512_set1_epi64(0xcd9e8d57LL);
  const __m512i w0 = _mm512_set1_epi32(static_cast<int>(0x9e3779b9u)), w1 = _mm512_set1_epi32(static_cast<int>(0xbb67ae85u));
  for (int r = 0; r < 10; r++) {
    __m512i h0, l0, h1, l1;
    mulhilo16(c0, m0, h0, l0);
    mulhilo16(c2, m1, h1, l1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(h1, c1), key0);
    c2 = _mm512_xor_si512(_mm512_xor_si512(h0, c3), key1);
    c1 = l1;
    c3 = l0;
    key0 = _mm512_add_epi32(key0, w0);
    key1 = _mm512_add_epi32(key1, w1);
  }
  // philox_unit: (r >> 8 + 0.5) / 2^24, exact in double (r >> 8 < 2^24 converts exactly as signed).
  const __m512d half = _mm512_set1_pd(0.5), scale = _mm512_set1_pd(1.0 / 16777216.0);
  auto units = [&](__m512i r, double* u) {
    const __m512i s = _mm512_srli_epi32(r, 8);
    _mm512_storeu_pd(u, _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(s)), half), scale));
    _mm512_storeu_pd(u + 8, _mm512_mul_pd(_mm512_add_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(s, 1)), half), scale));
  };
  units(c0, u0);
  units(c1, u1);
}

template <class T>
void normal_blocks(T* out, long n, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a, double b) {
  constexpr int B = 64;
  alignas(64) double u0[B], u1[B];
  for (long i0 = 0; i0 < n; i0 += B) {
    const int m = n - i0 < B ? static_cast<int>(n - i0) : B;
    // Whole groups of 16 counters (past the end of a last short block too: those values are dropped).
    for (int j = 0; j < m; j += 16) philox_units16(offset + static_cast<uint64_t>(i0 + j), stream, seedLo, seedHi, u0 + j, u1 + j);
    for (int j = 0; j < m; j++) out[i0 + j] = static_cast<T>(a + b * __builtin_sqrt(-2.0 * log_unit(u0[j])) * cos_2pi_unit(u1[j]));
  }
}

}  // namespace

void normal_avx512_f32(float* out, long n, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a, double b) {
  normal_blocks(out, n, seedLo, seedHi, stream, offset, a, b);
}

void normal_avx512_f64(double* out, long n, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a, double b) {
  normal_blocks(out, n, seedLo, seedHi, stream, offset, a, b);
}

}  // namespace gr
