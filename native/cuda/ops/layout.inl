// Dispatchers: permute, broadcastTo, slice, pad, concat. They move words of the element's size.
#pragma once
#include "../kernels/layout.cuh"
#include "registry.hpp"

namespace gr {

/** Call fn(W{}) with W the word type holding one element of dtype `dt`. */
template <class Fn> void with_word(Call& c, int dt, Fn&& fn) {
  if (dt == kFloat64) fn(uint64_t{});
  else if (dt == kFloat32 || dt == kInt32) fn(uint32_t{});
  else c.bad("unknown dtype code " + std::to_string(dt));
}

template <class Exec, class W> void gather(Exec& ex, Call& c, const Shape& inShape, Shape outShape, Shape strides, idx_t base) {
  idx_t n = numel(outShape);
  Dims src = make_dims(c, std::move(outShape), std::move(strides));
  GatherFn<W> f{src, base, c.buf<W>(1, numel(inShape)), c.buf<W>(0, n)};
  ex.for_each(c.kernel(), n, f);
}

template <class Exec> void op_permute(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Shape s = c.shape(), perm = c.shape();
  c.done();
  if (perm.size() != s.size()) c.bad("perm has " + std::to_string(perm.size()) + " entries for rank " + std::to_string(s.size()));
  Shape st = strides_of(s), os, ost;
  for (idx_t p : perm) {
    if (p >= (idx_t)s.size()) c.bad("perm entry out of range");
    os.push_back(s[(size_t)p]);
    ost.push_back(st[(size_t)p]);
  }
  with_word(c, dt, [&](auto w) { gather<Exec, decltype(w)>(ex, c, s, os, ost, 0); });
}

template <class Exec> void op_broadcast_to(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Shape s = c.shape(), os = c.shape();
  c.done();
  Shape st = broadcast_strides(c, s, os);
  with_word(c, dt, [&](auto w) { gather<Exec, decltype(w)>(ex, c, s, os, st, 0); });
}

template <class Exec> void op_slice(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Shape s = c.shape(), begin = c.shape(), size = c.shape();
  c.done();
  if (begin.size() != s.size() || size.size() != s.size()) c.bad("begin/size rank differs from the input's");
  Shape st = strides_of(s);
  idx_t base = 0;
  for (size_t d = 0; d < s.size(); ++d) {
    if (begin[d] + size[d] > s[d]) c.bad("slice exceeds dim " + std::to_string(d));
    base += begin[d] * st[d];
  }
  with_word(c, dt, [&](auto w) { gather<Exec, decltype(w)>(ex, c, s, size, st, base); });
}

template <class Exec> void op_pad(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  Shape s = c.shape(), before = c.shape(), after = c.shape();
  double value = c.num();
  c.done();
  if (before.size() != s.size() || after.size() != s.size()) c.bad("before/after rank differs from the input's");
  if (s.size() > (size_t)kMaxDims) c.bad("rank above " + std::to_string(kMaxDims));
  Shape st = strides_of(s);
  idx_t n = 1;
  with_word(c, dt, [&](auto w) {
    using W = decltype(w);
    PadFn<W> f{};
    f.rank = (int)s.size();
    for (size_t d = 0; d < s.size(); ++d) {
      f.oshape[d] = before[d] + s[d] + after[d];
      f.before[d] = before[d];
      f.xshape[d] = s[d];
      f.xstride[d] = st[d];
      n *= f.oshape[d];
    }
    if (dt == kFloat32) {
      float v = (float)value;
      memcpy(&f.value, &v, sizeof v);
    } else if (dt == kInt32) {
      int32_t v = js_to_int32(value);
      memcpy(&f.value, &v, sizeof v);
    } else {
      memcpy(&f.value, &value, sizeof value);
    }
    f.x = c.buf<W>(1, numel(s));
    f.out = c.buf<W>(0, n);
    ex.for_each(c.kernel(), n, f);
  });
}

/** Buffers: out, then the inputs; parameters: dtype, axis, count, then each input's shape. */
template <class Exec> void op_concat(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  idx_t axis = c.integer(), count = c.integer();
  if (count < 1 || (size_t)count + 1 != c.buffers()) c.bad("input count does not match the buffers");
  std::vector<Shape> shapes;
  for (idx_t k = 0; k < count; ++k) shapes.push_back(c.shape());
  c.done();
  const Shape& first = shapes[0];
  if (axis < 0 || axis >= (idx_t)first.size()) c.bad("axis out of range");
  idx_t outer = 1, inner = 1, total = 0;
  for (idx_t d = 0; d < axis; ++d) outer *= first[(size_t)d];
  for (size_t d = (size_t)axis + 1; d < first.size(); ++d) inner *= first[d];
  for (const Shape& s : shapes) total += s[(size_t)axis];
  with_word(c, dt, [&](auto w) {
    using W = decltype(w);
    W* out = c.buf<W>(0, outer * total * inner);
    idx_t at = 0;
    for (idx_t k = 0; k < count; ++k) {
      idx_t chunk = shapes[(size_t)k][(size_t)axis] * inner;
      ConcatPartFn<W> f{chunk, total * inner, at, c.buf<W>((size_t)k + 1, outer * chunk), out};
      ex.for_each(c.kernel(), outer * chunk, f);
      at += chunk;
    }
  });
}

template <class Exec> void register_layout(Registry<Exec>& r) {
  r["permute"] = &op_permute<Exec>;
  r["broadcastTo"] = &op_broadcast_to<Exec>;
  r["slice"] = &op_slice<Exec>;
  r["pad"] = &op_pad<Exec>;
  r["concat"] = &op_concat<Exec>;
}

}  // namespace gr
