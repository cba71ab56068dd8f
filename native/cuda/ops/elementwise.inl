// Dispatchers: unary, binary, binaryScalar, where, cast, fill, random.
#pragma once
#include "../kernels/elementwise.cuh"
#include "../kernels/philox.cuh"
#include "registry.hpp"

namespace gr {

template <class Exec> void op_unary(Exec& ex, Call& c) {
  int op = c.code(kUnaryOpCount, "unary op"), dt = read_dtype(c);
  idx_t n = c.integer();
  double alpha = c.num();
  c.done();
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    UnaryFn<T> f{op, (compute_t<T>)alpha, c.buf<T>(1, n), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_binary(Exec& ex, Call& c) {
  int op = c.code(kBinaryOpCount, "binary op"), dt = read_dtype(c);
  Shape sa = c.shape(), sb = c.shape(), so = c.shape();
  c.done();
  idx_t n = numel(so);
  Indexer<2> ix = make_indexer<2>(c, so, {broadcast_strides(c, sa, so), broadcast_strides(c, sb, so)});
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    BinaryFn<T> f{op, ix, c.buf<T>(1, numel(sa)), c.buf<T>(2, numel(sb)), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_binary_scalar(Exec& ex, Call& c) {
  int op = c.code(kBinaryOpCount, "binary op"), dt = read_dtype(c);
  idx_t n = c.integer();
  double s = c.num();
  bool left = c.integer() != 0;
  c.done();
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    BinaryScalarFn<T> f{op, left, (compute_t<T>)s, c.buf<T>(1, n), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_where(Exec& ex, Call& c) {
  int dt = read_dtype(c), ct = read_dtype(c);
  Shape sc = c.shape(), sa = c.shape(), sb = c.shape(), so = c.shape();
  c.done();
  idx_t n = numel(so);
  Indexer<3> ix = make_indexer<3>(c, so, {broadcast_strides(c, sc, so), broadcast_strides(c, sa, so), broadcast_strides(c, sb, so)});
  size_t condBytes = ct == kFloat64 ? 8 : 4;
  const void* cond = condBytes == 8 ? (const void*)c.buf<double>(1, numel(sc)) : (const void*)c.buf<float>(1, numel(sc));
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    WhereFn<T> f{ix, ct, cond, c.buf<T>(2, numel(sa)), c.buf<T>(3, numel(sb)), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_cast(Exec& ex, Call& c) {
  int from = read_dtype(c), to = read_dtype(c);
  idx_t n = c.integer();
  c.done();
  with_dtype(c, from, [&](auto stag) {
    using S = decltype(stag);
    with_dtype(c, to, [&](auto dtag) {
      using D = decltype(dtag);
      CastFn<S, D> f{c.buf<S>(1, n), c.buf<D>(0, n)};
      ex.for_each(c.kernel(), n, f);
    });
  });
}

template <class Exec> void op_fill(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  idx_t n = c.integer();
  double v = c.num();
  c.done();
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    FillFn<T> f{Store<T>::from(v), c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void op_random(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  idx_t n = c.integer();
  int kind = c.code(3, "random kind");
  idx_t seedLo = c.integer(), seedHi = c.integer(), stream = c.integer(), offset = c.integer();
  double a = c.num(), b = c.num();
  c.done();
  if (offset < 0) c.bad("negative offset");
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    RandomFn<T> f{kind, (uint32_t)seedLo, (uint32_t)seedHi, (uint32_t)stream, (uint64_t)offset, a, b, c.buf<T>(0, n)};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void register_elementwise(Registry<Exec>& r) {
  r["unary"] = &op_unary<Exec>;
  r["binary"] = &op_binary<Exec>;
  r["binaryScalar"] = &op_binary_scalar<Exec>;
  r["where"] = &op_where<Exec>;
  r["cast"] = &op_cast<Exec>;
  r["fill"] = &op_fill<Exec>;
  r["random"] = &op_random<Exec>;
}

}  // namespace gr
