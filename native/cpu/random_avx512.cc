// Philox normal draws for AVX-512 machines: the same values as elementwise.cc's random_t (Philox
// 4x32-10, u = philox_unit(r), Box-Muller a + b sqrt(-2 ln u0) cos(2 pi u1)), computed a block at a time so
// that the compiler vectorizes Philox and the two transcendental functions over eight doubles. ln and
// cos are branch-free polynomials accurate to about 1 ulp in double, where random_t calls libm: the
// float32 values are equal except when a double lands within an ulp of a float32 rounding boundary
// (none in 6.1 million draws; the kernel tests compare 200,000 exactly), float64 values agree to a
// few ulps. The draw was 90% of noise injection's extra step time on the ResNet (43 ns a value
// through libm; about 5 ns here).
//
// Compiled with AVX-512 flags in the avx512 static library. Like gemm_avx512.cc it includes no
// inline C++ library code (whose out-of-line copies could leak AVX-512 instructions into portable
// paths); its helpers have internal linkage, and Philox comes from philox.h, whose copy here has
// internal linkage too.
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

template <class T>
void normal_blocks(T* out, long n, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a, double b) {
  constexpr int B = 64;
  alignas(64) double u0[B], u1[B];
  for (long i0 = 0; i0 < n; i0 += B) {
    const int m = n - i0 < B ? static_cast<int>(n - i0) : B;
    for (int j = 0; j < m; j++) {
      const uint64_t ctr = offset + static_cast<uint64_t>(i0 + j);
      uint32_t c[4] = {static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), stream, 0};
      philox(c, seedLo, seedHi);
      u0[j] = philox_unit(c[0]);
      u1[j] = philox_unit(c[1]);
    }
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
