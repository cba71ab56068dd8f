// Dispatchers: im2col, col2im.
#pragma once
#include "../kernels/conv.cuh"
#include "registry.hpp"
#include "window.hpp"

namespace gr {

template <class Exec> void op_im2col(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.kh * g.kw * g.oh * g.ow;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    Im2colFn<T> f{g, c.buf<T>(1, g.n * g.c * g.h * g.w), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_col2im(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Window g = read_window(c);
  c.done();
  idx_t n = g.n * g.c * g.h * g.w;
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    Col2imFn<T> f{g, c.buf<T>(1, g.n * g.c * g.kh * g.kw * g.oh * g.ow), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void register_conv(Registry<Exec>& r) {
  r["im2col"] = &op_im2col<Exec>;
  r["col2im"] = &op_col2im<Exec>;
}

}  // namespace gr
