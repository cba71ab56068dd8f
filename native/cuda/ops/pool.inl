// Dispatchers: maxPool, poolGather, poolScatter, avgPool, avgPoolBackward.
#pragma once
#include "../kernels/pool.cuh"
#include "registry.hpp"
#include "window.hpp"

namespace gr {

template <class Exec> void op_max_pool(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    MaxPoolFn<T> f{g, c.buf<T>(2, g.n * g.c * g.h * g.w), c.buf<T>(0, n), c.buf<int32_t>(1, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_pool_gather(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    PoolGatherFn<T> f{g, c.buf<T>(1, g.n * g.c * g.h * g.w), c.buf<int32_t>(2, n), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_pool_scatter(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.h * g.w, m = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    PoolScatterFn<T> f{g, c.buf<T>(1, m), c.buf<int32_t>(2, m), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_avg_pool(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    AvgPoolFn<T> f{g, c.buf<T>(1, g.n * g.c * g.h * g.w), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_avg_pool_backward(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.h * g.w;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    AvgPoolBackwardFn<T> f{g, c.buf<T>(1, g.n * g.c * g.oh * g.ow), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void register_pool(Registry<Exec>& r) {
  r["maxPool"] = &op_max_pool<Exec>;
  r["poolGather"] = &op_pool_gather<Exec>;
  r["poolScatter"] = &op_pool_scatter<Exec>;
  r["avgPool"] = &op_avg_pool<Exec>;
  r["avgPoolBackward"] = &op_avg_pool_backward<Exec>;
}

}  // namespace gr
