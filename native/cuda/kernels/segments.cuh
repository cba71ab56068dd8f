// How a reduction is split over GPU threads, written once for both builds. A segment (one output
// of a reduction, one row of a softmax, one channel of a batch norm) is folded by a block of
// `block` threads, thread t taking elements t, t + block, ...; the partials are then combined
// pairwise in a fixed tree. The host build replays exactly this decomposition.
//
// A segment functor F provides: Row (what a segment needs once: a base offset, per-row
// constants), row(seg), Acc, init(), load(row, k), combine(a, b) and store(seg, acc).
// A row functor (softmax, batch norm) adds a second pass and element writes:
//   kPasses (1 or 2), Acc2, init2(), load2(row, k, a1), combine2(a, b),
//   Fin finish(row, a1, a2), kWrite + write(row, fin, k), write_row(r, row, fin).
#pragma once
#include "common.cuh"

namespace gr {

/** Threads per block for segments of `len` elements: a power of two in [32, 256]. */
inline int pick_block(idx_t len) {
  int b = 32;
  while (b < 256 && b < len) b <<= 1;
  return b;
}

/** How the segments of one reduction are spread over the GPU. */
struct SegmentPlan {
  enum Mode { kThreadPerSegment, kBlockPerSegment, kSplitSegments };
  Mode mode;
  int block;
  /** kSplitSegments: each segment is cut into `chunks` pieces of `chunkLen`, one block each. */
  idx_t chunks, chunkLen;
};

/**
 * Few long segments (a full sum, per-channel sums of a big batch) would leave most of the GPU idle
 * with a block per segment: cut them into chunks so there are about 4 blocks per SM, fold each
 * chunk into a partial, then combine each segment's partials in chunk order.
 */
inline SegmentPlan plan_segments(idx_t nseg, idx_t len, bool perBlock, int sms) {
  SegmentPlan p{perBlock ? SegmentPlan::kBlockPerSegment : SegmentPlan::kThreadPerSegment, pick_block(len), 1, len};
  idx_t want = (idx_t)sms * 4;
  if (!perBlock || nseg <= 0 || nseg >= want || len < 8192) return p;
  idx_t chunks = want / nseg, byLen = len / 4096;
  if (byLen < chunks) chunks = byLen;
  if (chunks < 2) return p;
  p.mode = SegmentPlan::kSplitSegments;
  p.block = 256;
  p.chunks = chunks;
  p.chunkLen = (len + chunks - 1) / chunks;
  return p;
}

/** Thread `t`'s share of a segment: elements t, t + step, ... < len, folded with `load`/`combine`. */
template <class F>
GR_HD typename F::Acc fold_strided(const F& f, const typename F::Row& row, idx_t t, idx_t step, idx_t len) {
  typename F::Acc a = f.init();
  for (idx_t k = t; k < len; k += step) a = f.combine(a, f.load(row, k));
  return a;
}

/** Same for the second pass of a row op, whose loads depend on the first pass's result. */
template <class F>
GR_HD typename F::Acc2 fold_strided2(const F& f, const typename F::Row& row, const typename F::Acc& a1, idx_t t,
                                     idx_t step, idx_t len) {
  typename F::Acc2 a = f.init2();
  for (idx_t k = t; k < len; k += step) a = f.combine2(a, f.load2(row, k, a1));
  return a;
}

/** Fold a segment's chunk partials in chunk order (the second stage of a split). */
template <class F>
GR_HD typename F::Acc combine_chunks(const F& f, const typename F::Acc* partial, idx_t seg, idx_t chunks) {
  typename F::Acc a = f.init();
  for (idx_t c = 0; c < chunks; ++c) a = f.combine(a, partial[seg * chunks + c]);
  return a;
}

template <class F>
GR_HD typename F::Acc2 combine_chunks2(const F& f, const typename F::Acc2* partial, idx_t seg, idx_t chunks) {
  typename F::Acc2 a = f.init2();
  for (idx_t c = 0; c < chunks; ++c) a = f.combine2(a, partial[seg * chunks + c]);
  return a;
}

/** Element range [lo, hi) of chunk c of a split segment. */
GR_HD void chunk_range(idx_t c, idx_t chunkLen, idx_t len, idx_t* lo, idx_t* hi) {
  *lo = c * chunkLen;
  *hi = *lo + chunkLen < len ? *lo + chunkLen : len;
}

/** A pass-through second accumulator for row ops that need only one pass. */
struct NoAcc {
  int unused;
};

}  // namespace gr
