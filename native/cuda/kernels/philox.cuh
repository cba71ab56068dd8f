// Philox 4x32-10 (Salmon et al., SC'11), bit for bit the generator of src/random/philox.ts:
// element i of a draw uses counter [lo32(offset + i), hi32(offset + i), stream, 0] and key
// [seedLo, seedHi]; the output words become values exactly as the TypeScript side maps them.
#pragma once
#include "common.cuh"

namespace gr {

GR_HD uint32_t mulhi32(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return (uint32_t)(((uint64_t)a * (uint64_t)b) >> 32);
#endif
}

struct Words4 {
  uint32_t w[4];
};

GR_HD Words4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0 = mulhi32(0xd2511f53u, c0), lo0 = 0xd2511f53u * c0;
    uint32_t hi1 = mulhi32(0xcd9e8d57u, c2), lo1 = 0xcd9e8d57u * c2;
    uint32_t n0 = hi1 ^ c1 ^ k0;
    uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9e3779b9u;
    k1 += 0xbb67ae85u;
  }
  Words4 o = {{c0, c1, c2, c3}};
  return o;
}

/** ((r >> 8) + 0.5) * 2^-24: in (0, 1) and exact in float32. */
GR_HD double unit_from_word(uint32_t r) { return ((double)(r >> 8) + 0.5) * (1.0 / 16777216.0); }

template <class T> struct RandomFn {
  int kind;
  uint32_t seedLo, seedHi, stream;
  uint64_t offset;
  double a, b;
  T* out;
  GR_HD void operator()(idx_t i) const {
    uint64_t ctr = offset + (uint64_t)i;
    Words4 r = philox4x32_10((uint32_t)ctr, (uint32_t)(ctr >> 32), stream, 0u, seedLo, seedHi);
    double u0 = unit_from_word(r.w[0]);
    double v;
    if (kind == kUniform) {
      v = add_rn(a, mul_rn(b - a, u0));
    } else if (kind == kNormal) {
      // a + b * sqrt(-2 ln u0) * cos(2 pi u1), rounded step by step in JavaScript's order.
      double u1 = unit_from_word(r.w[1]);
      double radius = sqrt(mul_rn(-2.0, log(u0)));
      double angle = mul_rn(2.0 * 3.141592653589793, u1);
      v = add_rn(a, mul_rn(mul_rn(b, radius), cos(angle)));
    } else {
      v = u0 < a ? 1.0 : 0.0;
    }
    out[i] = Store<T>::from(v);
  }
};

}  // namespace gr
