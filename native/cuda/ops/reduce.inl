// Dispatchers: reduce (sum/max/min over any axes), argReduce (argmax/argmin along one axis).
#pragma once
#include "../kernels/reduce.cuh"
#include "registry.hpp"

namespace gr {

/**
 * A block per segment when the reduced elements are contiguous (threads of a block read
 * neighbours); a thread per segment when segments are many and neighbouring segments are
 * neighbours in memory (threads of a warp read neighbours).
 */
inline bool block_per_segment(const Dims& kept, const Dims& red, idx_t nseg, idx_t len) {
  if (len <= 1) return false;
  bool redInner = red.rank > 0 && red.stride[red.rank - 1] == 1;
  bool keptInner = kept.rank > 0 && kept.stride[kept.rank - 1] == 1;
  if (redInner) return true;
  return !(keptInner && nseg >= 1024);
}

template <class Exec> void op_reduce(Exec& ex, Call& c) {
  int op = c.code(3, "reduce op"), dt = read_dtype(c);
  Shape s = c.shape(), axes = c.shape();
  c.done();
  Shape st = strides_of(s), ks, kst, rs, rst;
  std::vector<bool> reduced(s.size(), false);
  for (idx_t a : axes) {
    if (a >= (idx_t)s.size()) c.bad("axis " + std::to_string(a) + " out of range");
    reduced[(size_t)a] = true;
  }
  for (size_t d = 0; d < s.size(); ++d) {
    (reduced[d] ? rs : ks).push_back(s[d]);
    (reduced[d] ? rst : kst).push_back(st[d]);
  }
  idx_t nseg = numel(ks), len = numel(rs);
  Dims kept = make_dims(c, ks, kst), red = make_dims(c, rs, rst);
  bool perBlock = block_per_segment(kept, red, nseg, len);
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    ReduceFn<T> f{op, kept, red, c.buf<T>(1, numel(s)), c.buf<T>(0, nseg)};
    ex.segments(c.kernel(), nseg, len, f, perBlock);
  });
}

template <class Exec> void op_arg_reduce(Exec& ex, Call& c) {
  int op = c.code(2, "argReduce op"), dt = read_dtype(c);
  Shape s = c.shape();
  idx_t axis = c.integer();
  c.done();
  if (axis < 0 || axis >= (idx_t)s.size()) c.bad("axis " + std::to_string(axis) + " out of range");
  idx_t outer = 1, inner = 1, len = s[(size_t)axis];
  for (idx_t d = 0; d < axis; ++d) outer *= s[(size_t)d];
  for (size_t d = (size_t)axis + 1; d < s.size(); ++d) inner *= s[d];
  idx_t nseg = outer * inner;
  bool perBlock = inner == 1 ? len > 1 : nseg < 1024;
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    ArgReduceFn<T> f{op, len, inner, c.buf<T>(1, numel(s)), c.buf<int32_t>(0, nseg)};
    ex.segments(c.kernel(), nseg, len, f, perBlock);
  });
}

template <class Exec> void register_reduce(Registry<Exec>& r) {
  r["reduce"] = &op_reduce<Exec>;
  r["argReduce"] = &op_arg_reduce<Exec>;
}

}  // namespace gr
