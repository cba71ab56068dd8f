// The softmax family over the rows of a [rows, cols] view: one row per block on the GPU.
// Row maxima and sums accumulate in double; exponentials run in the compute type.
#pragma once
#include "segments.cuh"

namespace gr {

/** max over a row (NaN propagates, as Math.max does), then the sum of exp(x - max). */
template <class T> struct RowMaxSumExp {
  static constexpr int kPasses = 2;
  using Row = idx_t;
  using Acc = double;
  using Acc2 = double;
  idx_t cols;
  const T* x;
  GR_HD Row row(idx_t r) const { return r * cols; }
  GR_HD Acc init() const { return -INFINITY; }
  GR_HD Acc load(Row b, idx_t k) const { return (double)x[b + k]; }
  GR_HD Acc combine(Acc a, Acc v) const { return (v > a || is_nan(v)) ? v : a; }
  GR_HD Acc2 init2() const { return 0.0; }
  GR_HD compute_t<T> shifted_exp(Row b, idx_t k, double m) const {
    return m_exp((compute_t<T>)((double)x[b + k] - m));
  }
  GR_HD Acc2 load2(Row b, idx_t k, Acc m) const { return (double)shifted_exp(b, k, m); }
  GR_HD Acc2 combine2(Acc2 a, Acc2 v) const { return a + v; }
};

struct SoftmaxFin {
  double max, sum;
};

template <class T> struct SoftmaxFn : RowMaxSumExp<T> {
  static constexpr bool kWrite = true;
  using Fin = SoftmaxFin;
  T* out;
  GR_HD Fin finish(idx_t, double m, double s) const { return Fin{m, s}; }
  GR_HD void write(idx_t b, const Fin& f, idx_t k) const {
    out[b + k] = Store<T>::from((double)this->shifted_exp(b, k, f.max) * (1.0 / f.sum));
  }
  GR_HD void write_row(idx_t, idx_t, const Fin&) const {}
};

template <class T> struct LogSoftmaxFn : RowMaxSumExp<T> {
  static constexpr bool kWrite = true;
  using Fin = double;
  T* out;
  GR_HD Fin finish(idx_t, double m, double s) const { return m + log(s); }
  GR_HD void write(idx_t b, const Fin& lse, idx_t k) const {
    out[b + k] = Store<T>::from((double)this->x[b + k] - lse);
  }
  GR_HD void write_row(idx_t, idx_t, const Fin&) const {}
};

/** Per-row -log softmax(z)[label] = logsumexp(z) - z[label]; a label out of range gives NaN. */
template <class T> struct CrossEntropyFn : RowMaxSumExp<T> {
  static constexpr bool kWrite = false;
  using Fin = double;
  const int32_t* labels;
  T* out;
  GR_HD Fin finish(idx_t, double m, double s) const { return m + log(s); }
  GR_HD void write(idx_t, const Fin&, idx_t) const {}
  GR_HD void write_row(idx_t r, idx_t b, const Fin& lse) const {
    int32_t y = labels[r];
    out[r] = Store<T>::from(y >= 0 && y < this->cols ? lse - (double)this->x[b + y] : (double)NAN);
  }
};

/** softmax(z) - onehot(label), fused. */
template <class T> struct SoftmaxCrossEntropyGradFn : RowMaxSumExp<T> {
  static constexpr bool kWrite = true;
  using Fin = SoftmaxFin;
  const int32_t* labels;
  T* out;
  GR_HD Fin finish(idx_t, double m, double s) const { return Fin{m, s}; }
  GR_HD void write(idx_t b, const Fin& f, idx_t k) const {
    double p = (double)this->shifted_exp(b, k, f.max) * (1.0 / f.sum);
    out[b + k] = Store<T>::from(labels[divmod(b, this->cols).q] == k ? p - 1.0 : p);
  }
  GR_HD void write_row(idx_t, idx_t, const Fin&) const {}
};

/** The softmax Jacobian product p * (v - p.v), row-wise. */
template <class T> struct SoftmaxHvpFn {
  static constexpr int kPasses = 1;
  static constexpr bool kWrite = true;
  using Row = idx_t;
  using Acc = double;
  using Acc2 = NoAcc;
  using Fin = double;
  idx_t cols;
  const T* p;
  const T* v;
  T* out;
  GR_HD Row row(idx_t r) const { return r * cols; }
  GR_HD Acc init() const { return 0.0; }
  GR_HD Acc load(Row b, idx_t k) const { return (double)p[b + k] * (double)v[b + k]; }
  GR_HD Acc combine(Acc a, Acc c) const { return a + c; }
  GR_HD Acc2 init2() const { return NoAcc{0}; }
  GR_HD Acc2 load2(Row, idx_t, Acc) const { return NoAcc{0}; }
  GR_HD Acc2 combine2(Acc2 a, Acc2) const { return a; }
  GR_HD Fin finish(Row, Acc d, Acc2) const { return d; }
  GR_HD void write(Row b, const Fin& d, idx_t k) const {
    out[b + k] = Store<T>::from((double)p[b + k] * ((double)v[b + k] - d));
  }
  GR_HD void write_row(idx_t, Row, const Fin&) const {}
};

/** [N] int32 labels -> [N, C]: 1 at the label (when in range), 0 elsewhere. */
template <class T> struct OneHotFn {
  idx_t classes;
  const int32_t* labels;
  T* out;
  GR_HD void operator()(idx_t i) const {
    QR rk = divmod(i, classes);
    out[i] = labels[rk.q] == rk.r ? T(1) : T(0);
  }
};

}  // namespace gr
