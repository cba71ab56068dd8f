// Reductions as segments: output element `seg` folds the input elements that map to it.
#pragma once
#include "segments.cuh"

namespace gr {

/**
 * Reduce over any set of axes. `kept` walks the output (kept dims, input strides) to a segment's
 * base offset; `red` walks the reduced dims. Sums accumulate in double, as the cpu backend does;
 * max and min propagate NaN.
 */
template <class T> struct ReduceFn {
  using Acc = double;
  using Row = idx_t;
  int op;
  Dims kept;
  Dims red;
  const T* x;
  T* out;
  GR_HD Acc init() const { return op == kSum ? 0.0 : (op == kMax ? -INFINITY : INFINITY); }
  GR_HD Row row(idx_t seg) const { return kept.offset(seg); }
  GR_HD Acc load(Row b, idx_t k) const { return (double)x[b + red.offset(k)]; }
  GR_HD Acc combine(Acc a, Acc v) const {
    if (op == kSum) return a + v;
    if (op == kMax) return (v > a || is_nan(v)) ? v : a;
    return (v < a || is_nan(v)) ? v : a;
  }
  GR_HD void store(idx_t seg, Acc a) const { out[seg] = Store<T>::from(a); }
};

/** Best value so far and its index along the axis; `valid` is 0 for the empty fold. */
struct ArgAcc {
  double v;
  idx_t i;
  int nan;
  int valid;
};

/**
 * argmax / argmin along one axis of [outer, len, inner], as the cpu backend scans: the first
 * extremum wins, and a NaN counts as the extremum (the first NaN wins over every number).
 * Partials of a split scan combine under the same rule, ties going to the lower index.
 */
template <class T> struct ArgReduceFn {
  using Acc = ArgAcc;
  using Row = idx_t;
  int op;
  idx_t len, inner;
  const T* x;
  int32_t* out;
  GR_HD Acc init() const {
    Acc a = {0.0, 0, 0, 0};
    return a;
  }
  GR_HD Row row(idx_t seg) const {
    QR oi = divmod(seg, inner);
    return oi.q * len * inner + oi.r;
  }
  GR_HD Acc load(Row b, idx_t k) const {
    double v = (double)x[b + k * inner];
    Acc a = {v, k, is_nan(v) ? 1 : 0, 1};
    return a;
  }
  GR_HD Acc combine(Acc a, Acc c) const {
    if (!c.valid) return a;
    if (!a.valid) return c;
    if (a.nan || c.nan) {
      if (a.nan && c.nan) return c.i < a.i ? c : a;
      return a.nan ? a : c;
    }
    bool better = op == kArgmax ? c.v > a.v : c.v < a.v;
    if (better || (c.v == a.v && c.i < a.i)) return c;
    return a;
  }
  GR_HD void store(idx_t seg, Acc a) const { out[seg] = a.valid ? (int32_t)a.i : 0; }
};

}  // namespace gr
