// Dispatcher: batched matmul with broadcast batch dims and optional transposes of either operand.
#pragma once
#include "../kernels/elementwise.cuh"
#include "../kernels/matmul.cuh"
#include "registry.hpp"

namespace gr {

template <class Exec> void op_matmul(Exec& ex, Call& c) {
  int dt = read_dtype(c);
  bool ta = c.integer() != 0, tb = c.integer() != 0;
  Shape sa = c.shape(), sb = c.shape(), so = c.shape();
  c.done();
  if (sa.size() < 2 || sb.size() < 2 || so.size() < 2) c.bad("operands must have rank >= 2");
  GemmShape g{};
  g.m = so[so.size() - 2];
  g.n = so[so.size() - 1];
  g.k = ta ? sa[sa.size() - 2] : sa[sa.size() - 1];
  g.transA = ta;
  g.transB = tb;
  idx_t kb = tb ? sb[sb.size() - 1] : sb[sb.size() - 2];
  idx_t ma = ta ? sa[sa.size() - 1] : sa[sa.size() - 2], nb = tb ? sb[sb.size() - 2] : sb[sb.size() - 1];
  if (kb != g.k || ma != g.m || nb != g.n) c.bad("operand shapes do not multiply to the output shape");
  Shape batch(so.begin(), so.end() - 2), ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  // Broadcast strides in matrices, scaled to elements.
  Shape st_a = broadcast_strides(c, ba, batch), st_b = broadcast_strides(c, bb, batch);
  for (idx_t& s : st_a) s *= g.m * g.k;
  for (idx_t& s : st_b) s *= g.k * g.n;
  idx_t nbatch = numel(batch);
  Indexer<2> ix = make_indexer<2>(c, batch, {st_a, st_b});
  with_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    GemmDesc<T> d{g, ix, nbatch, c.buf<T>(1, numel(sa)), c.buf<T>(2, numel(sb)), c.buf<T>(0, numel(so))};
    if (g.k == 0) {
      FillFn<T> zero{T(0), d.c};
      ex.for_each(c.kernel(), numel(so), zero);
    } else {
      ex.gemm(c.kernel(), d);
    }
  });
}

template <class Exec> void register_matmul(Registry<Exec>& r) { r["matmul"] = &op_matmul<Exec>; }

}  // namespace gr
