// The host executor: runs the kernel bodies of kernels/ on the CPU, replaying the GPU's work
// decomposition (threads of a block striding a segment, the fixed combine tree, long segments and
// rows cut into chunks, GEMM tiles) so that the index arithmetic tested here is the arithmetic the
// GPU runs.
#pragma once
#include <vector>

#include "../kernels/matmul.cuh"
#include "../kernels/segments.cuh"

namespace gr {

struct HostExec {
  template <class F> void for_each(const char*, idx_t n, const F& f) {
    for (idx_t i = 0; i < n; ++i) f(i);
  }

  /** SM count whose work split the host replays (an H100's). */
  static constexpr int kReplaySms = 132;

  /** One output per segment, split as plan_segments decides for a kReplaySms GPU. */
  template <class F> void segments(const char*, idx_t nseg, idx_t len, const F& f, bool perBlock) {
    using Acc = typename F::Acc;
    SegmentPlan p = plan_segments(nseg, len, perBlock, kReplaySms);
    if (p.mode == SegmentPlan::kThreadPerSegment) {
      for (idx_t s = 0; s < nseg; ++s) f.store(s, fold_strided(f, f.row(s), 0, 1, len));
      return;
    }
    std::vector<Acc> sh((size_t)p.block);
    if (p.mode == SegmentPlan::kBlockPerSegment) {
      for (idx_t s = 0; s < nseg; ++s) {
        for (int t = 0; t < p.block; ++t) sh[(size_t)t] = fold_strided(f, f.row(s), t, p.block, len);
        tree(sh, [&](const Acc& a, const Acc& b) { return f.combine(a, b); });
        f.store(s, sh[0]);
      }
      return;
    }
    std::vector<Acc> partial = chunk_partials(f, nseg, len, p);
    for (idx_t s = 0; s < nseg; ++s) f.store(s, combine_chunks(f, partial.data(), s, p.chunks));
  }

  /** Row ops: up to two block reductions per row, then the row's element writes. */
  template <class F> void rows(const char*, idx_t nrows, idx_t len, const F& f) {
    using Acc = typename F::Acc;
    using Acc2 = typename F::Acc2;
    SegmentPlan p = plan_segments(nrows, len, true, kReplaySms);
    if (p.mode == SegmentPlan::kSplitSegments) {
      split_rows(nrows, len, f, p);
      return;
    }
    int block = p.block;
    std::vector<Acc> s1((size_t)block);
    std::vector<Acc2> s2((size_t)block);
    for (idx_t r = 0; r < nrows; ++r) {
      auto row = f.row(r);
      for (int t = 0; t < block; ++t) s1[(size_t)t] = fold_strided(f, row, t, block, len);
      tree(s1, [&](const Acc& a, const Acc& b) { return f.combine(a, b); });
      Acc a1 = s1[0];
      Acc2 a2 = f.init2();
      if constexpr (F::kPasses == 2) {
        for (int t = 0; t < block; ++t) s2[(size_t)t] = fold_strided2(f, row, a1, t, block, len);
        tree(s2, [&](const Acc2& a, const Acc2& b) { return f.combine2(a, b); });
        a2 = s2[0];
      }
      auto fin = f.finish(row, a1, a2);
      if constexpr (F::kWrite)
        for (idx_t k = 0; k < len; ++k) f.write(row, fin, k);
      f.write_row(r, row, fin);
    }
  }

  /** The tiled GEMM, block by block and thread by thread, with the GPU's staging of tiles. */
  template <class T> void gemm(const char*, const GemmDesc<T>& d) {
    using C = compute_t<T>;
    T as[kTile][kTile + 1], bs[kTile][kTile + 1];
    C acc[kTile][kTile];
    idx_t by_n = (d.s.m + kTile - 1) / kTile, bx_n = (d.s.n + kTile - 1) / kTile;
    for (idx_t bz = 0; bz < d.nbatch; ++bz) {
      idx_t off[2];
      d.batch.offsets(bz, off);
      const T* a = d.a + off[0];
      const T* b = d.b + off[1];
      T* c = d.c + bz * d.s.m * d.s.n;
      for (idx_t by = 0; by < by_n; ++by) {
        for (idx_t bx = 0; bx < bx_n; ++bx) {
          for (auto& row : acc)
            for (auto& v : row) v = C(0);
          for (idx_t k0 = 0; k0 < d.s.k; k0 += kTile) {
            for (int ty = 0; ty < kTile; ++ty) {
              for (int tx = 0; tx < kTile; ++tx) {
                as[ty][tx] = gemm_load_a(a, d.s, by * kTile + ty, k0 + tx);
                bs[ty][tx] = gemm_load_b(b, d.s, k0 + ty, bx * kTile + tx);
              }
            }
            for (int ty = 0; ty < kTile; ++ty)
              for (int tx = 0; tx < kTile; ++tx) acc[ty][tx] = tile_dot<T>(as, bs, ty, tx, acc[ty][tx]);
          }
          for (int ty = 0; ty < kTile; ++ty) {
            for (int tx = 0; tx < kTile; ++tx) {
              idx_t row = by * kTile + ty, col = bx * kTile + tx;
              if (row < d.s.m && col < d.s.n) c[row * d.s.n + col] = Store<T>::from((double)acc[ty][tx]);
            }
          }
        }
      }
    }
  }

 private:
  /** Stage 1 of a split: the partial of block (segment s, chunk c) at s * chunks + c. */
  template <class F>
  std::vector<typename F::Acc> chunk_partials(const F& f, idx_t nseg, idx_t len, const SegmentPlan& p) {
    using Acc = typename F::Acc;
    std::vector<Acc> partial((size_t)(nseg * p.chunks)), sh((size_t)p.block);
    for (idx_t task = 0; task < nseg * p.chunks; ++task) {
      idx_t s = task / p.chunks, lo, hi;
      chunk_range(task % p.chunks, p.chunkLen, len, &lo, &hi);
      auto row = f.row(s);
      for (int t = 0; t < p.block; ++t) sh[(size_t)t] = fold_strided(f, row, lo + t, p.block, hi);
      tree(sh, [&](const Acc& a, const Acc& b) { return f.combine(a, b); });
      partial[(size_t)task] = sh[0];
    }
    return partial;
  }

  /** Row ops over few long rows, as the GPU splits them: pass partials per chunk, then chunked writes. */
  template <class F> void split_rows(idx_t nrows, idx_t len, const F& f, const SegmentPlan& p) {
    using Acc2 = typename F::Acc2;
    std::vector<typename F::Acc> p1 = chunk_partials(f, nrows, len, p);
    std::vector<Acc2> p2((size_t)(nrows * p.chunks)), sh((size_t)p.block);
    if constexpr (F::kPasses == 2) {
      for (idx_t task = 0; task < nrows * p.chunks; ++task) {
        idx_t r = task / p.chunks, lo, hi;
        chunk_range(task % p.chunks, p.chunkLen, len, &lo, &hi);
        auto row = f.row(r);
        auto a1 = combine_chunks(f, p1.data(), r, p.chunks);
        for (int t = 0; t < p.block; ++t) sh[(size_t)t] = fold_strided2(f, row, a1, lo + t, p.block, hi);
        tree(sh, [&](const Acc2& a, const Acc2& b) { return f.combine2(a, b); });
        p2[(size_t)task] = sh[0];
      }
    }
    for (idx_t task = 0; task < nrows * p.chunks; ++task) {
      idx_t r = task / p.chunks, c = task % p.chunks, lo, hi;
      chunk_range(c, p.chunkLen, len, &lo, &hi);
      auto row = f.row(r);
      Acc2 a2 = f.init2();
      if constexpr (F::kPasses == 2) a2 = combine_chunks2(f, p2.data(), r, p.chunks);
      auto fin = f.finish(row, combine_chunks(f, p1.data(), r, p.chunks), a2);
      if constexpr (F::kWrite)
        for (idx_t k = lo; k < hi; ++k) f.write(row, fin, k);
      if (c == 0) f.write_row(r, row, fin);
    }
  }

  /** The block's pairwise combine: step s folds element t + s into t for t < s, s halving. */
  template <class A, class Op> static void tree(std::vector<A>& sh, Op op) {
    for (size_t s = sh.size() / 2; s > 0; s >>= 1)
      for (size_t t = 0; t < s; ++t) sh[t] = op(sh[t], sh[t + s]);
  }
};

}  // namespace gr
