// Per-element building blocks shared by the CUDA build (nvcc) and the host build (g++).
// Everything in kernels/ is __host__ __device__: the host build runs these same bodies on the CPU
// so that their index arithmetic is checked against the TypeScript reference without a GPU.
#pragma once
#include <math.h>
#include <stdint.h>

#include "../../formulas.h"


namespace gr {

using idx_t = int64_t;
constexpr int kMaxDims = 8;


// The cpu backend stores every result through a typed array. For Int32Array that is JavaScript's
// ToInt32: NaN and infinities become 0, everything else truncates and wraps modulo 2^32.
GR_HD int32_t js_to_int32(double v) {
  if (is_nan(v) || v == INFINITY || v == -INFINITY) return 0;
  double m = fmod(trunc(v), 4294967296.0);
  if (m < 0) m += 4294967296.0;
  if (m >= 2147483648.0) m -= 4294967296.0;
  return (int32_t)m;
}

/** Storing a double into element type T, rounding like the typed arrays do. */
template <class T> struct Store {
  GR_HD static T from(double v) { return (T)v; }
};
template <> struct Store<int32_t> {
  GR_HD static int32_t from(double v) { return js_to_int32(v); }
};

/** The type elementwise math runs in: the element type for floats, double for int32. */
template <class T> struct ComputeOf { using type = T; };
template <> struct ComputeOf<int32_t> { using type = double; };
template <class T> using compute_t = typename ComputeOf<T>::type;

/** Read element `i` of a buffer of runtime dtype `dt` as a double (for `where` conditions). */
GR_HD double load_any(const void* p, int dt, idx_t i) {
  if (dt == kFloat32) return (double)static_cast<const float*>(p)[i];
  if (dt == kFloat64) return static_cast<const double*>(p)[i];
  return (double)static_cast<const int32_t*>(p)[i];
}

// Double arithmetic that must not be contracted into fused multiply-adds (nvcc contracts by
// default): the random-number transforms have to round exactly like JavaScript does.
GR_HD double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
GR_HD double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

/** Quotient and remainder of index arithmetic. */
struct QR {
  idx_t q, r;
};

/**
 * a / b and a % b for a >= 0, b > 0. 64-bit integer division is emulated on GPUs (dozens of
 * instructions), so indices that fit in 31 bits take the 32-bit path; the check is one compare.
 */
GR_HD QR divmod(idx_t a, idx_t b) {
  if (((uint64_t)a | (uint64_t)b) < 0x80000000ull) {
    uint32_t x = (uint32_t)a, y = (uint32_t)b, q = x / y;
    QR r = {(idx_t)q, (idx_t)(x - q * y)};
    return r;
  }
  QR r = {a / b, a % b};
  return r;
}

/** A strided view of up to kMaxDims dims: linear index over `shape` -> element offset. */
struct Dims {
  int rank;
  idx_t shape[kMaxDims];
  idx_t stride[kMaxDims];

  GR_HD idx_t offset(idx_t i) const {
    idx_t off = 0;
    for (int d = rank - 1; d > 0; --d) {
      QR qr = divmod(i, shape[d]);
      i = qr.q;
      off += qr.r * stride[d];
    }
    return rank > 0 ? off + i * stride[0] : 0;
  }
};

/** One index space read by N inputs through their own strides (broadcasting: stride 0). */
template <int N> struct Indexer {
  int rank;
  idx_t shape[kMaxDims];
  idx_t stride[N][kMaxDims];

  GR_HD void offsets(idx_t i, idx_t* off) const {
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = rank - 1; d > 0; --d) {
      QR qr = divmod(i, shape[d]);
      i = qr.q;
      for (int k = 0; k < N; ++k) off[k] += qr.r * stride[k][d];
    }
    if (rank > 0)
      for (int k = 0; k < N; ++k) off[k] += i * stride[k][0];
  }
};

}  // namespace gr
