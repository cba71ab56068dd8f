// Strided n-d iteration with dimension collapsing, shared by the elementwise, layout and
// reduction kernels. K operands are walked over one logical index space; runs of the innermost
// dimension are handed to a callback that does the vectorizable work.
#pragma once
#include "common.h"

namespace gr {

constexpr int MAX_RANK = 16;

template <int K>
struct NdIter {
  int rank = 0;
  long shape[MAX_RANK];
  long st[K][MAX_RANK];

  // Build from a shape and per-operand strides (0 where broadcast); drops size-1 dims and merges
  // neighbours that every operand walks contiguously.
  void init(int r, const long* shp, const long* const* strides) {
    rank = 0;
    for (int d = 0; d < r; d++) {
      if (shp[d] == 1) continue;
      if (rank > 0) {
        bool merge = true;
        for (int k = 0; k < K; k++)
          if (st[k][rank - 1] != strides[k][d] * shp[d]) merge = false;
        if (merge) {
          shape[rank - 1] *= shp[d];
          for (int k = 0; k < K; k++) st[k][rank - 1] = strides[k][d];
          continue;
        }
      }
      shape[rank] = shp[d];
      for (int k = 0; k < K; k++) st[k][rank] = strides[k][d];
      rank++;
    }
    if (rank == 0) {
      rank = 1;
      shape[0] = 1;
      for (int k = 0; k < K; k++) st[k][0] = 0;
    }
  }

  long size() const {
    long n = 1;
    for (int d = 0; d < rank; d++) n *= shape[d];
    return n;
  }

  // f(const long* offs, const long* innerStrides, long len) for every run in linear range [b, e).
  template <class F>
  void runs(long b, long e, F&& f) const {
    if (b >= e) return;
    long idx[MAX_RANK];
    long off[K];
    for (int k = 0; k < K; k++) off[k] = 0;
    long rem = b;
    for (int d = rank - 1; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
      for (int k = 0; k < K; k++) off[k] += idx[d] * st[k][d];
    }
    const int last = rank - 1;
    long inner[K];
    for (int k = 0; k < K; k++) inner[k] = st[k][last];
    long pos = b;
    while (pos < e) {
      long len = shape[last] - idx[last];
      if (len > e - pos) len = e - pos;
      f(off, inner, len);
      pos += len;
      idx[last] += len;
      for (int k = 0; k < K; k++) off[k] += len * st[k][last];
      if (idx[last] < shape[last]) continue;
      for (int k = 0; k < K; k++) off[k] -= shape[last] * st[k][last];
      idx[last] = 0;
      for (int d = last - 1; d >= 0; d--) {
        idx[d]++;
        for (int k = 0; k < K; k++) off[k] += st[k][d];
        if (idx[d] < shape[d]) break;
        for (int k = 0; k < K; k++) off[k] -= shape[d] * st[k][d];
        idx[d] = 0;
      }
    }
  }
};

// Dense row-major strides.
inline void dense_strides(int r, const long* shape, long* st) {
  long acc = 1;
  for (int d = r - 1; d >= 0; d--) {
    st[d] = acc;
    acc *= shape[d];
  }
}

// Strides of `in` (rank ri) read as broadcast to `out` (rank r >= ri): 0 along broadcast dims.
inline void bcast_strides(int r, const long* out, int ri, const long* in, long* st) {
  long dense[MAX_RANK];
  dense_strides(ri, in, dense);
  const int off = r - ri;
  for (int d = 0; d < r; d++) st[d] = 0;
  (void)out;
  for (int d = 0; d < ri; d++) st[d + off] = in[d] == 1 ? 0 : dense[d];
}

// Element grain for parallel loops over memory-bound kernels.
constexpr long EW_GRAIN = 1L << 15;

}  // namespace gr
