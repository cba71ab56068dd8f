// Host-side index preparation shared by both builds: strides, broadcasting, and merging of dims
// that are contiguous for every operand (so most kernels index a rank-1 or rank-2 space).
#pragma once
#include <vector>

#include "call.hpp"

namespace gr {

using Shape = std::vector<idx_t>;

inline idx_t numel(const Shape& s) {
  idx_t n = 1;
  for (idx_t d : s) n *= d;
  return n;
}

inline Shape strides_of(const Shape& s) {
  Shape st(s.size());
  idx_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

/** Strides reading `in` broadcast to `out` (0 along broadcast dims); `out` must be a broadcast of `in`. */
inline Shape broadcast_strides(Call& c, const Shape& in, const Shape& out) {
  if (in.size() > out.size()) c.bad("cannot broadcast a rank " + std::to_string(in.size()) + " input to rank " + std::to_string(out.size()));
  Shape st = strides_of(in), r(out.size(), 0);
  size_t off = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != 1 && in[i] != out[i + off]) c.bad("input dim " + std::to_string(in[i]) + " does not broadcast to " + std::to_string(out[i + off]));
    r[i + off] = in[i] == 1 ? 0 : st[i];
  }
  return r;
}

/**
 * Drop size-1 dims and merge neighbours d, d+1 whenever every operand has
 * stride[d] == stride[d+1] * shape[d+1]. The index space and every offset stay the same.
 */
inline void collapse(Shape& shape, std::vector<Shape>& strides) {
  Shape s;
  std::vector<Shape> st(strides.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = !s.empty();
    for (size_t k = 0; merge && k < strides.size(); ++k) merge = st[k].back() == strides[k][d] * shape[d];
    if (merge) {
      s.back() *= shape[d];
      for (size_t k = 0; k < strides.size(); ++k) st[k].back() = strides[k][d];
    } else {
      s.push_back(shape[d]);
      for (size_t k = 0; k < strides.size(); ++k) st[k].push_back(strides[k][d]);
    }
  }
  shape = s;
  strides = st;
}

inline Dims make_dims(Call& c, Shape shape, Shape stride) {
  std::vector<Shape> st{std::move(stride)};
  collapse(shape, st);
  if (shape.size() > (size_t)kMaxDims) c.bad("more than " + std::to_string(kMaxDims) + " non-mergeable dims");
  Dims d{};
  d.rank = (int)shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    d.shape[i] = shape[i];
    d.stride[i] = st[0][i];
  }
  return d;
}

template <int N> Indexer<N> make_indexer(Call& c, Shape shape, std::vector<Shape> strides) {
  collapse(shape, strides);
  if (shape.size() > (size_t)kMaxDims) c.bad("more than " + std::to_string(kMaxDims) + " non-mergeable dims");
  Indexer<N> ix{};
  ix.rank = (int)shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    ix.shape[i] = shape[i];
    for (int k = 0; k < N; ++k) ix.stride[k][i] = strides[(size_t)k][i];
  }
  return ix;
}

}  // namespace gr
