// Elementwise kernels with NumPy broadcasting, casts, fills and Philox random numbers. Semantics
// follow the TypeScript reference (src/backends/cpu): transcendental functions are evaluated in
// double precision and rounded once, int32 results use JavaScript's ToInt32 conversion.
#include <cmath>
#include <limits>
#include <cstring>
#include <type_traits>

#include "../formulas.h"
#include "kernels.h"
#include "nditer.h"
#include "philox.h"

namespace gr {
namespace {

inline int32_t to_int32(double v) {
  if (!std::isfinite(v)) return 0;
  double t = std::trunc(v);
  double m = std::fmod(t, 4294967296.0);
  if (m < 0) m += 4294967296.0;
  if (m >= 2147483648.0) m -= 4294967296.0;
  return static_cast<int32_t>(m);
}

template <class T>
inline T store(double v) {
  return static_cast<T>(v);
}
template <>
inline int32_t store<int32_t>(double v) {
  return to_int32(v);
}


template <class T, int OP>
void unary_t(const T* x, T* out, long n, double alpha) {
  parallel_for(n, EW_GRAIN, [&](long b, long e) {
    if constexpr (std::is_same_v<T, float>) {
      // Exact in float for these; the compiler vectorizes them.
      if constexpr (OP == kRelu) {
        // x < 0 ? 0 : x keeps NaN (and -0), like the cpu reference and the WGSL kernel.
        for (long i = b; i < e; i++) out[i] = x[i] < 0.f ? 0.f : x[i];
        return;

      } else if constexpr (OP == kNeg) {
        for (long i = b; i < e; i++) out[i] = -x[i];
        return;
      } else if constexpr (OP == kSquare) {
        for (long i = b; i < e; i++) out[i] = x[i] * x[i];
        return;
      }
    }
    for (long i = b; i < e; i++) out[i] = store<T>(unary_apply<double>(OP, static_cast<double>(x[i]), alpha));
  });
}

// Calls f(std::integral_constant<int, OP>) for the op code `op` among 0..N-1, so every op of the
// generated table (opcodes.h) gets its own instantiation with no list written here.
template <int N, int OP = 0, class F>
void with_op(int op, F&& f) {
  if constexpr (OP < N) {
    if (op == OP) f(std::integral_constant<int, OP>{});
    else with_op<N, OP + 1>(op, f);
  }
}

template <class T>
void unary_dispatch(int op, const T* x, T* out, long n, double alpha) {
  with_op<kUnaryOpCount>(op, [&](auto k) { unary_t<T, decltype(k)::value>(x, out, n, alpha); });
}

// Arithmetic type of a binary op: float math is exact for + - * / on floats (one rounding either
// way); int32 computes in double and converts like JavaScript does.
template <class T, int OP>
struct Calc {
  using type = std::conditional_t<std::is_same_v<T, float> && OP != kPow, float, double>;
};

template <class T, int OP>
inline T bin(T a, T b) {
  using C = typename Calc<T, OP>::type;
  return store<T>(static_cast<double>(binary_apply<C>(OP, static_cast<C>(a), static_cast<C>(b))));
}
template <>
inline float bin<float, kAdd>(float a, float b) { return a + b; }
template <>
inline float bin<float, kSub>(float a, float b) { return a - b; }
template <>
inline float bin<float, kMul>(float a, float b) { return a * b; }
template <>
inline float bin<float, kDiv>(float a, float b) { return a / b; }

template <class T, int OP>
void binary_t(int r, const long* oshape, const T* a, const long* sa, const T* b, const long* sb, T* out) {
  long so[MAX_RANK];
  dense_strides(r, oshape, so);
  const long* strides[3] = {so, sa, sb};
  NdIter<3> it;
  it.init(r, oshape, strides);
  const long n = it.size();
  parallel_for(n, EW_GRAIN, [&](long lo, long hi) {
    it.runs(lo, hi, [&](const long* off, const long* in, long len) {
      T* o = out + off[0];
      const T* pa = a + off[1];
      const T* pb = b + off[2];
      if (in[1] == 1 && in[2] == 1) {
        for (long i = 0; i < len; i++) o[i] = bin<T, OP>(pa[i], pb[i]);
      } else if (in[1] == 1 && in[2] == 0) {
        const T bv = *pb;
        for (long i = 0; i < len; i++) o[i] = bin<T, OP>(pa[i], bv);
      } else if (in[1] == 0 && in[2] == 1) {
        const T av = *pa;
        for (long i = 0; i < len; i++) o[i] = bin<T, OP>(av, pb[i]);
      } else {
        for (long i = 0; i < len; i++) o[i] = bin<T, OP>(pa[i * in[1]], pb[i * in[2]]);
      }
    });
  });
}

template <class T, int OP>
void scalar_t(const T* x, T* out, long n, double s, bool left) {
  parallel_for(n, EW_GRAIN, [&](long b, long e) {
    if (left)
      for (long i = b; i < e; i++) out[i] = store<T>(binary_apply<double>(OP, s, static_cast<double>(x[i])));
    else
      for (long i = b; i < e; i++) out[i] = store<T>(binary_apply<double>(OP, static_cast<double>(x[i]), s));
  });
}

template <class T>
void binary_dispatch(int op, int r, const long* oshape, const T* a, const long* sa, const T* b, const long* sb,
                     T* out) {
  with_op<kBinaryOpCount>(op, [&](auto k) { binary_t<T, decltype(k)::value>(r, oshape, a, sa, b, sb, out); });
}

template <class T>
void scalar_dispatch(int op, const T* x, T* out, long n, double s, bool left) {
  with_op<kBinaryOpCount>(op, [&](auto k) { scalar_t<T, decltype(k)::value>(x, out, n, s, left); });
}

template <class TC, class T>
void where_t(const TC* c, const long* sc, const T* a, const long* sa, const T* b, const long* sb, T* out, int r,
             const long* oshape) {
  long so[MAX_RANK];
  dense_strides(r, oshape, so);
  const long* strides[4] = {so, sc, sa, sb};
  NdIter<4> it;
  it.init(r, oshape, strides);
  parallel_for(it.size(), EW_GRAIN, [&](long lo, long hi) {
    it.runs(lo, hi, [&](const long* off, const long* in, long len) {
      T* o = out + off[0];
      const TC* pc = c + off[1];
      const T* pa = a + off[2];
      const T* pb = b + off[3];
      // Both branches are loaded unconditionally so the choice compiles to a blend, not a branch
      // (a random mask, such as relu's, would mispredict half the time).
      if (in[1] == 1 && in[2] == 1 && in[3] == 0) {
        // A mask over a dense tensor with a scalar other branch (relu's backward).
        const T bv = *pb;
        for (long i = 0; i < len; i++) {
          const T av = pa[i];
          o[i] = pc[i] != TC(0) ? av : bv;
        }
      } else if (in[1] == 1 && in[2] == 1 && in[3] == 1) {
        for (long i = 0; i < len; i++) {
          const T av = pa[i], bv = pb[i];
          o[i] = pc[i] != TC(0) ? av : bv;
        }
      } else {
        for (long i = 0; i < len; i++) {
          const T av = pa[i * in[2]], bv = pb[i * in[3]];
          o[i] = pc[i * in[1]] != TC(0) ? av : bv;
        }
      }
    });
  });
}

template <class T>
void where_c(int dtc, const void* c, const long* sc, const T* a, const long* sa, const T* b, const long* sb, T* out,
             int r, const long* oshape) {
  if (dtc == kFloat32) where_t(static_cast<const float*>(c), sc, a, sa, b, sb, out, r, oshape);
  else if (dtc == kFloat64) where_t(static_cast<const double*>(c), sc, a, sa, b, sb, out, r, oshape);
  else where_t(static_cast<const int32_t*>(c), sc, a, sa, b, sb, out, r, oshape);
}

template <class S, class D>
void cast_t(const S* x, D* out, long n) {
  parallel_for(n, EW_GRAIN, [&](long b, long e) {
    for (long i = b; i < e; i++) {
      if constexpr (std::is_same_v<D, int32_t>) out[i] = to_int32(std::trunc(static_cast<double>(x[i])));
      else out[i] = static_cast<D>(x[i]);
    }
  });
}

template <class S>
void cast_from(const S* x, int to, void* out, long n) {
  if (to == kFloat32) cast_t(x, static_cast<float*>(out), n);
  else if (to == kFloat64) cast_t(x, static_cast<double*>(out), n);
  else cast_t(x, static_cast<int32_t*>(out), n);
}

// ---- Philox 4x32-10: philox.h ----

template <class T>
void random_t(T* out, long n, int kind, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a,
              double b) {
  parallel_for(n, 4096, [&](long lo, long hi) {
    for (long i = lo; i < hi; i++) {
      const uint64_t ctr = offset + static_cast<uint64_t>(i);
      uint32_t c[4] = {static_cast<uint32_t>(ctr), static_cast<uint32_t>(ctr >> 32), stream, 0};
      philox(c, seedLo, seedHi);
      const double u0 = philox_unit(c[0]);
      double v;
      if (kind == kUniform) v = a + (b - a) * u0;
      else if (kind == kNormal) v = a + b * std::sqrt(-2.0 * std::log(u0)) * std::cos(2.0 * M_PI * philox_unit(c[1]));
      else v = u0 < a ? 1.0 : 0.0;
      out[i] = store<T>(v);
    }
  });
}

}  // namespace

void k_unary(int dt, int op, const void* x, void* out, long n, double alpha) {
  if (dt == kFloat32) unary_dispatch(op, static_cast<const float*>(x), static_cast<float*>(out), n, alpha);
  else if (dt == kFloat64) unary_dispatch(op, static_cast<const double*>(x), static_cast<double*>(out), n, alpha);
  else unary_dispatch(op, static_cast<const int32_t*>(x), static_cast<int32_t*>(out), n, alpha);
}

void k_binary(int dt, int op, int r, const long* oshape, const void* a, int ra, const long* ashape, const void* b,
              int rb, const long* bshape, void* out) {
  long sa[MAX_RANK], sb[MAX_RANK];
  bcast_strides(r, oshape, ra, ashape, sa);
  bcast_strides(r, oshape, rb, bshape, sb);
  if (dt == kFloat32)
    binary_dispatch(op, r, oshape, static_cast<const float*>(a), sa, static_cast<const float*>(b), sb,
                    static_cast<float*>(out));
  else if (dt == kFloat64)
    binary_dispatch(op, r, oshape, static_cast<const double*>(a), sa, static_cast<const double*>(b), sb,
                    static_cast<double*>(out));
  else
    binary_dispatch(op, r, oshape, static_cast<const int32_t*>(a), sa, static_cast<const int32_t*>(b), sb,
                    static_cast<int32_t*>(out));
}

void k_binary_scalar(int dt, int op, const void* x, void* out, long n, double s, bool left) {
  if (dt == kFloat32) scalar_dispatch(op, static_cast<const float*>(x), static_cast<float*>(out), n, s, left);
  else if (dt == kFloat64) scalar_dispatch(op, static_cast<const double*>(x), static_cast<double*>(out), n, s, left);
  else scalar_dispatch(op, static_cast<const int32_t*>(x), static_cast<int32_t*>(out), n, s, left);
}

void k_where(int dtc, const void* c, int rc, const long* cshape, int dt, const void* a, int ra, const long* ashape,
             const void* b, int rb, const long* bshape, void* out, int r, const long* oshape) {
  long sc[MAX_RANK], sa[MAX_RANK], sb[MAX_RANK];
  bcast_strides(r, oshape, rc, cshape, sc);
  bcast_strides(r, oshape, ra, ashape, sa);
  bcast_strides(r, oshape, rb, bshape, sb);
  if (dt == kFloat32)
    where_c(dtc, c, sc, static_cast<const float*>(a), sa, static_cast<const float*>(b), sb, static_cast<float*>(out),
            r, oshape);
  else if (dt == kFloat64)
    where_c(dtc, c, sc, static_cast<const double*>(a), sa, static_cast<const double*>(b), sb,
            static_cast<double*>(out), r, oshape);
  else
    where_c(dtc, c, sc, static_cast<const int32_t*>(a), sa, static_cast<const int32_t*>(b), sb,
            static_cast<int32_t*>(out), r, oshape);
}

void k_cast(int from, const void* x, int to, void* out, long n) {
  if (from == kFloat32) cast_from(static_cast<const float*>(x), to, out, n);
  else if (from == kFloat64) cast_from(static_cast<const double*>(x), to, out, n);
  else cast_from(static_cast<const int32_t*>(x), to, out, n);
}

void k_fill(int dt, void* out, long n, double v) {
  if (dt == kFloat32) {
    float f = static_cast<float>(v);
    float* o = static_cast<float*>(out);
    if (f == 0.f && !std::signbit(f)) std::memset(o, 0, n * sizeof(float));
    else parallel_for(n, EW_GRAIN, [&](long b, long e) { for (long i = b; i < e; i++) o[i] = f; });
  } else if (dt == kFloat64) {
    double* o = static_cast<double*>(out);
    if (v == 0.0 && !std::signbit(v)) std::memset(o, 0, n * sizeof(double));
    else parallel_for(n, EW_GRAIN, [&](long b, long e) { for (long i = b; i < e; i++) o[i] = v; });
  } else {
    int32_t iv = to_int32(v);
    int32_t* o = static_cast<int32_t*>(out);
    parallel_for(n, EW_GRAIN, [&](long b, long e) { for (long i = b; i < e; i++) o[i] = iv; });
  }
}

// random_avx512.cc: the normal draw vectorized for AVX-512 (same values; see there)
void normal_avx512_f32(float* out, long n, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a, double b);
void normal_avx512_f64(double* out, long n, uint32_t seedLo, uint32_t seedHi, uint32_t stream, uint64_t offset, double a, double b);

void k_random(int dt, void* out, long n, int kind, uint32_t seedLo, uint32_t seedHi, uint32_t stream, double offset,
              double a, double b) {
  const uint64_t off = static_cast<uint64_t>(offset);
  if (kind == 1 && dt != kInt32 && isa_active() == ISA_AVX512) {
    parallel_for(n, 4096, [&](long lo, long hi) {
      if (dt == kFloat32) normal_avx512_f32(static_cast<float*>(out) + lo, hi - lo, seedLo, seedHi, stream, off + lo, a, b);
      else normal_avx512_f64(static_cast<double*>(out) + lo, hi - lo, seedLo, seedHi, stream, off + lo, a, b);
    });
    return;
  }
  if (dt == kFloat32) random_t(static_cast<float*>(out), n, kind, seedLo, seedHi, stream, off, a, b);
  else if (dt == kFloat64) random_t(static_cast<double*>(out), n, kind, seedLo, seedHi, stream, off, a, b);
  else random_t(static_cast<int32_t*>(out), n, kind, seedLo, seedHi, stream, off, a, b);
}

}  // namespace gr
