// The tiled GEMM used where cuBLAS is not (int32, a machine without libcublas) and by the host
// build. A block computes a kTile x kTile tile of C, staging kTile-wide slabs of op(A) and op(B).
#pragma once
#include "common.cuh"

namespace gr {

constexpr int kTile = 16;

struct GemmShape {
  idx_t m, n, k;
  int transA, transB;
};

/** op(A)[row, col], zero outside: A is stored [M, K], or [K, M] when transposed. */
template <class T> GR_HD T gemm_load_a(const T* a, const GemmShape& s, idx_t row, idx_t col) {
  if (row >= s.m || col >= s.k) return T(0);
  return s.transA ? a[col * s.m + row] : a[row * s.k + col];
}

/** op(B)[row, col], zero outside: B is stored [K, N], or [N, K] when transposed. */
template <class T> GR_HD T gemm_load_b(const T* b, const GemmShape& s, idx_t row, idx_t col) {
  if (row >= s.k || col >= s.n) return T(0);
  return s.transB ? b[col * s.k + row] : b[row * s.n + col];
}

/** One thread's product of a staged row of op(A) with a staged column of op(B). */
template <class T>
GR_HD compute_t<T> tile_dot(const T (*as)[kTile + 1], const T (*bs)[kTile + 1], int ty, int tx, compute_t<T> acc) {
  for (int kk = 0; kk < kTile; ++kk) acc += (compute_t<T>)as[ty][kk] * (compute_t<T>)bs[kk][tx];
  return acc;
}

/** Batched GEMM: batch b reads A and B at offsets given by `batch` (broadcast strides in elements). */
template <class T> struct GemmDesc {
  GemmShape s;
  Indexer<2> batch;
  idx_t nbatch;
  const T* a;
  const T* b;
  T* c;
};

}  // namespace gr
