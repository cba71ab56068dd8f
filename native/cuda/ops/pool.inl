// Dispatchers: maxPool2d, maxPoolGather, maxPoolScatter, avgPool2d, avgPool2dBackward.
#pragma once
#include "../kernels/pool.cuh"
#include "registry.hpp"
#include "window.hpp"

namespace gr {

template <class Exec> void op_max_pool2d(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    MaxPool2dFn<T> f{g, c.buf<T>(2, g.n * g.c * g.h * g.w), c.buf<T>(0, n), c.buf<int32_t>(1, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_max_pool_gather(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    MaxPoolGatherFn<T> f{g, c.buf<T>(1, g.n * g.c * g.h * g.w), c.buf<int32_t>(2, n), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_max_pool_scatter(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.h * g.w, m = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    MaxPoolScatterFn<T> f{g, c.buf<T>(1, m), c.buf<int32_t>(2, m), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_avg_pool2d(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    AvgPool2dFn<T> f{g, c.buf<T>(1, g.n * g.c * g.h * g.w), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_avg_pool2d_backward(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.h * g.w;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    AvgPool2dBackwardFn<T> f{g, c.buf<T>(1, g.n * g.c * g.oh * g.ow), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void register_pool(Registry<Exec>& r) {
  r["maxPool2d"] = &op_max_pool2d<Exec>;
  r["maxPoolGather"] = &op_max_pool_gather<Exec>;
  r["maxPoolScatter"] = &op_max_pool_scatter<Exec>;
  r["avgPool2d"] = &op_avg_pool2d<Exec>;
  r["avgPool2dBackward"] = &op_avg_pool2d_backward<Exec>;
}

}  // namespace gr
