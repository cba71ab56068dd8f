// Philox 4x32-10 (src/random/philox.ts documents the mapping) and its uniform in (0, 1), shared by
// the portable random kernel (elementwise.cc) and the AVX-512 normal draw (random_avx512.cc).
// Everything here sits in an anonymous namespace and uses no C++ library code: each file that
// includes it gets its own internal-linkage copy compiled with that file's flags, so an AVX-512
// copy can never be the one a portable path links against.
#pragma once
#include <stdint.h>

namespace gr {
namespace {

inline void philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; r++) {
    const uint64_t p0 = static_cast<uint64_t>(0xd2511f53u) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(0xcd9e8d57u) * c[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
    k0 += 0x9e3779b9u;
    k1 += 0xbb67ae85u;
  }
}

// 24 high bits of r, centred: (r >> 8 + 0.5) / 2^24, never 0 or 1.
inline double philox_unit(uint32_t r) { return (static_cast<double>(r >> 8) + 0.5) * (1.0 / 16777216.0); }

}  // namespace
}  // namespace gr
