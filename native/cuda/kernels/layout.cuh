// Layout kernels move raw words (W = uint32_t or uint64_t): only element sizes matter.
#pragma once
#include "common.cuh"

namespace gr {

/** out[i] = x[base + offset(i)]: permute, broadcastTo and slice are all this gather. */
template <class W> struct GatherFn {
  Dims src;
  idx_t base;
  const W* x;
  W* out;
  GR_HD void operator()(idx_t i) const { out[i] = x[base + src.offset(i)]; }
};

/** Padding as a gather over the output: positions outside the interior take `value`. */
template <class W> struct PadFn {
  int rank;
  idx_t oshape[kMaxDims];
  idx_t before[kMaxDims];
  idx_t xshape[kMaxDims];
  idx_t xstride[kMaxDims];
  W value;
  const W* x;
  W* out;
  GR_HD void operator()(idx_t i) const {
    idx_t rest = i, off = 0;
    for (int d = rank - 1; d >= 0; --d) {
      QR qr = divmod(rest, oshape[d]);
      idx_t c = qr.r - before[d];
      rest = qr.q;
      if (c < 0 || c >= xshape[d]) {
        out[i] = value;
        return;
      }
      off += c * xstride[d];
    }
    out[i] = x[off];
  }
};

/** One input of a concat: its [outer, chunk] block lands at column `at` of the [outer, outChunk] output. */
template <class W> struct ConcatPartFn {
  idx_t chunk, outChunk, at;
  const W* x;
  W* out;
  GR_HD void operator()(idx_t i) const {
    QR oq = divmod(i, chunk);
    out[oq.q * outChunk + at + oq.r] = x[i];
  }
};

}  // namespace gr
