// Dispatchers: softmax, logSoftmax, softmaxHvp, crossEntropy, softmaxCrossEntropyGrad, oneHot.
#pragma once
#include "../kernels/softmax.cuh"
#include "registry.hpp"

namespace gr {

struct RowsCols {
  idx_t rows, cols;
};

inline RowsCols read_rows(Call& c) {
  RowsCols r{c.integer(), c.integer()};
  if (r.rows < 0 || r.cols < 0) c.bad("negative rows or cols");
  return r;
}

/** Fill the shared part of the softmax functors. */
template <class F, class T> F row_fn(idx_t cols, const T* x) {
  F f{};
  f.cols = cols;
  f.x = x;
  return f;
}

template <template <class> class Fn, class Exec> void op_softmax_like(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  RowsCols rc = read_rows(c);
  c.done();
  idx_t n = rc.rows * rc.cols;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    auto f = row_fn<Fn<T>>(rc.cols, c.buf<T>(1, n));
    f.out = c.buf<T>(0, n);
    ex.rows(c.kernel(), rc.rows, rc.cols, f);
  });
}

template <template <class> class Fn, class Exec> void op_with_labels(Exec& ex, Call& c, bool rowOutput) {
  int dt = read_dtype(c);
  RowsCols rc = read_rows(c);
  c.done();
  idx_t n = rc.rows * rc.cols;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    auto f = row_fn<Fn<T>>(rc.cols, c.buf<T>(1, n));
    f.labels = c.buf<int32_t>(2, rc.rows);
    f.out = c.buf<T>(0, rowOutput ? rc.rows : n);
    ex.rows(c.kernel(), rc.rows, rc.cols, f);
  });
}

template <class Exec> void op_softmax(Exec& ex, Call& c) { op_softmax_like<SoftmaxFn>(ex, c); }
template <class Exec> void op_log_softmax(Exec& ex, Call& c) { op_softmax_like<LogSoftmaxFn>(ex, c); }
template <class Exec> void op_cross_entropy(Exec& ex, Call& c) { op_with_labels<CrossEntropyFn>(ex, c, true); }
template <class Exec> void op_softmax_cross_entropy_grad(Exec& ex, Call& c) {
  op_with_labels<SoftmaxCrossEntropyGradFn>(ex, c, false);
}

template <class Exec> void op_softmax_hvp(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  RowsCols rc = read_rows(c);
  c.done();
  idx_t n = rc.rows * rc.cols;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    SoftmaxHvpFn<T> f{rc.cols, c.buf<T>(1, n), c.buf<T>(2, n), c.buf<T>(0, n)};
    ex.rows(c.kernel(), rc.rows, rc.cols, f);
  });
}

template <class Exec> void op_one_hot(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  idx_t rows = c.integer(), classes = c.integer();
  c.done();
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    OneHotFn<T> f{classes, c.buf<int32_t>(1, rows), c.buf<T>(0, rows * classes)};
    ex.for_each(c.kernel(), rows * classes, f);
  });
}

template <class Exec> void register_softmax(Registry<Exec>& r) {
  r["softmax"] = &op_softmax<Exec>;
  r["logSoftmax"] = &op_log_softmax<Exec>;
  r["softmaxHvp"] = &op_softmax_hvp<Exec>;
  r["crossEntropy"] = &op_cross_entropy<Exec>;
  r["softmaxCrossEntropyGrad"] = &op_softmax_cross_entropy_grad<Exec>;
  r["oneHot"] = &op_one_hot<Exec>;
}

}  // namespace gr
