// Elementwise kernels: one output element per call, in the compute type of the element type.
#pragma once
#include "common.cuh"

namespace gr {

// UnaryOp and BinaryOp codes: ../../opcodes.h, generated from src/backends/opcodes.ts.

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

template <class T> struct UnaryFn {
  int op;
  compute_t<T> alpha;
  const T* x;
  T* out;
  GR_HD void operator()(idx_t i) const {
    out[i] = Store<T>::from((double)unary_apply<compute_t<T>>(op, (compute_t<T>)x[i], alpha));
  }
};

/** out = a (op) b, both read through broadcast strides of the output index space. */
template <class T> struct BinaryFn {
  int op;
  Indexer<2> ix;
  const T* a;
  const T* b;
  T* out;
  GR_HD void operator()(idx_t i) const {
    idx_t off[2];
    ix.offsets(i, off);
    using C = compute_t<T>;
    out[i] = Store<T>::from((double)binary_apply<C>(op, (C)a[off[0]], (C)b[off[1]]));
  }
};

template <class T> struct BinaryScalarFn {
  int op;
  bool scalarLeft;
  compute_t<T> s;
  const T* x;
  T* out;
  GR_HD void operator()(idx_t i) const {
    using C = compute_t<T>;
    C v = (C)x[i];
    out[i] = Store<T>::from((double)(scalarLeft ? binary_apply<C>(op, s, v) : binary_apply<C>(op, v, s)));
  }
};

/** out = cond != 0 ? a : b; the condition may have any dtype. */
template <class T> struct WhereFn {
  Indexer<3> ix;
  int condType;
  const void* cond;
  const T* a;
  const T* b;
  T* out;
  GR_HD void operator()(idx_t i) const {
    idx_t off[3];
    ix.offsets(i, off);
    out[i] = load_any(cond, condType, off[0]) != 0 ? a[off[1]] : b[off[2]];
  }
};

/** Conversion between element types: int32 targets truncate (Math.trunc, then ToInt32). */
template <class S, class D> struct CastFn {
  const S* x;
  D* out;
  GR_HD void operator()(idx_t i) const { out[i] = Store<D>::from((double)x[i]); }
};

template <class T> struct FillFn {
  T value;
  T* out;
  GR_HD void operator()(idx_t i) const { out[i] = value; }
};

}  // namespace gr
