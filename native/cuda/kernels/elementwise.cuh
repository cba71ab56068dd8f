// Elementwise kernels: one output element per call, in the compute type of the element type.
#pragma once
#include "common.cuh"

namespace gr {

// The per-element formulas (unary_apply, binary_apply) are ../../formulas.h, shared with the native
// CPU addon; these functors apply them over index spaces.

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
