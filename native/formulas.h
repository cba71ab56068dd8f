// The per-element formulas of the elementwise ops, one definition for both addons: the CUDA
// kernels (native/cuda, __host__ __device__, computing in the element's compute type) and the
// native CPU kernels (native/cpu/elementwise.cc, computing in double). Semantics follow the
// TypeScript reference (src/backends/cpu/elementwise.ts), Math.pow/max/min included. Ops are
// named by the generated codes of opcodes.h.
#pragma once
#include <math.h>

#include "opcodes.h"

#if defined(__CUDACC__)
#define GR_HD __host__ __device__ inline
#else
#define GR_HD inline
#endif

namespace gr {

GR_HD bool is_nan(double v) { return v != v; }

// Math in the compute type; the float overloads keep float32 tensors in single precision on the GPU.
GR_HD float m_exp(float x) { return expf(x); }
GR_HD double m_exp(double x) { return exp(x); }
GR_HD float m_log(float x) { return logf(x); }
GR_HD double m_log(double x) { return log(x); }
GR_HD float m_log1p(float x) { return log1pf(x); }
GR_HD double m_log1p(double x) { return log1p(x); }
GR_HD float m_sqrt(float x) { return sqrtf(x); }
GR_HD double m_sqrt(double x) { return sqrt(x); }
GR_HD float m_tanh(float x) { return tanhf(x); }
GR_HD double m_tanh(double x) { return tanh(x); }
GR_HD float m_sin(float x) { return sinf(x); }
GR_HD double m_sin(double x) { return sin(x); }
GR_HD float m_cos(float x) { return cosf(x); }
GR_HD double m_cos(double x) { return cos(x); }
GR_HD float m_abs(float x) { return fabsf(x); }
GR_HD double m_abs(double x) { return fabs(x); }
GR_HD float m_pow(float a, float b) { return powf(a, b); }
GR_HD double m_pow(double a, double b) { return pow(a, b); }

template <class C> GR_HD C unary_apply(int op, C x, C alpha) {
  const C zero = 0, one = 1;
  switch (op) {
    case kNeg: return -x;
    case kExp: return m_exp(x);
    case kLog: return m_log(x);
    case kSqrt: return m_sqrt(x);
    case kRsqrt: return one / m_sqrt(x);
    case kReciprocal: return one / x;
    case kAbs: return m_abs(x);
    case kSquare: return x * x;
    case kRelu: return x < zero ? zero : x;  // NaN passes through, as in the cpu reference
    case kLeakyRelu: return x > zero ? x : alpha * x;
    case kLeakyReluGrad: return x > zero ? one : alpha;
    case kSigmoid:
      if (x >= zero) return one / (one + m_exp(-x));
      else {
        C e = m_exp(x);
        return e / (one + e);
      }
    case kTanh: return m_tanh(x);
    // log(1 + e^x) without overflow: x + log1p(e^-x) for positive x.
    case kSoftplus: return x > zero ? x + m_log1p(m_exp(-x)) : m_log1p(m_exp(x));
    case kSign: return x > zero ? one : (x < zero ? -one : zero);
    case kSin: return m_sin(x);
    case kCos: return m_cos(x);
    default: return x;
  }
}

// Math.pow differs from C's pow where the exponent is NaN (always NaN) and for (+-1)^(+-inf) (NaN).
template <class C> GR_HD C js_pow(C a, C b) {
  if (is_nan((double)b)) return b;
  if ((a == C(1) || a == C(-1)) && (b == C(INFINITY) || b == C(-INFINITY))) return C(NAN);
  return m_pow(a, b);
}

/** Sign bit of x (so that -0 counts as negative): Math.max/min order -0 below +0. */
template <class C> GR_HD bool negative(C x) { return x < C(0) || (x == C(0) && C(1) / x < C(0)); }

/** Math.max: NaN if either is NaN, and +0 over -0. */
template <class C> GR_HD C js_max(C a, C b) {
  if (is_nan((double)a) || is_nan((double)b)) return C(NAN);
  if (a == b) return negative(a) ? b : a;
  return a > b ? a : b;
}

/** Math.min: NaN if either is NaN, and -0 under +0. */
template <class C> GR_HD C js_min(C a, C b) {
  if (is_nan((double)a) || is_nan((double)b)) return C(NAN);
  if (a == b) return negative(a) ? a : b;
  return a < b ? a : b;
}

template <class C> GR_HD C binary_apply(int op, C a, C b) {
  const C zero = 0, one = 1;
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kPow: return js_pow(a, b);
    case kMaximum: return js_max(a, b);
    case kMinimum: return js_min(a, b);
    case kEq: return a == b ? one : zero;
    case kNe: return a != b ? one : zero;
    case kLt: return a < b ? one : zero;
    case kLe: return a <= b ? one : zero;
    case kGt: return a > b ? one : zero;
    case kGe: return a >= b ? one : zero;
    default: return a;
  }
}

}  // namespace gr
