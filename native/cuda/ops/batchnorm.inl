// Dispatchers: batchNormForward, batchNormBackward over [N, C, *].
#pragma once
#include "../kernels/batchnorm.cuh"
#include "registry.hpp"

namespace gr {

inline BnShape read_bn_shape(Call& c) {
  Shape s = c.shape();
  if (s.size() < 2) c.bad("batch norm input must have rank >= 2");
  BnShape b{s[0], s[1], 1};
  for (size_t d = 2; d < s.size(); ++d) b.s *= s[d];
  return b;
}

/** Buffers: y, mean, variance, x, gamma, beta. */
template <class Exec> void op_batch_norm_forward(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  BnShape b = read_bn_shape(c);
  double eps = c.num();
  c.done();
  idx_t n = b.n * b.c * b.s;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    BatchNormForwardFn<T> f{b, eps, c.buf<T>(3, n), c.buf<T>(4, b.c), c.buf<T>(5, b.c),
                            c.buf<T>(0, n), c.buf<T>(1, b.c), c.buf<T>(2, b.c)};
    ex.rows(c.kernel(), b.c, b.count(), f);
  });
}

/** Buffers: dx, dgamma, dbeta, x, gy, mean, variance, gamma. */
template <class Exec> void op_batch_norm_backward(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  BnShape b = read_bn_shape(c);
  double eps = c.num();
  c.done();
  idx_t n = b.n * b.c * b.s;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    BatchNormBackwardFn<T> f{b, eps, c.buf<T>(3, n), c.buf<T>(4, n), c.buf<T>(5, b.c), c.buf<T>(6, b.c),
                             c.buf<T>(7, b.c), c.buf<T>(0, n), c.buf<T>(1, b.c), c.buf<T>(2, b.c)};
    ex.rows(c.kernel(), b.c, b.count(), f);
  });
}

template <class Exec> void register_batchnorm(Registry<Exec>& r) {
  r["batchNormForward"] = &op_batch_norm_forward<Exec>;
  r["batchNormBackward"] = &op_batch_norm_backward<Exec>;
}

}  // namespace gr
