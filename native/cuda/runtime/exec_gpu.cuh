// The GPU executor: grid-stride kernels over the functors of kernels/, block-per-segment
// reductions with the same combine tree as the host build, and GEMM through cuBLAS (or the tiled
// kernel). Everything is enqueued on one stream; launch errors are checked at once and name the
// kernel.
#pragma once
#include <cuda_runtime.h>

#include <string>
#include <type_traits>

#include "../kernels/matmul.cuh"
#include "../kernels/segments.cuh"
#include "cublas_loader.hpp"
#include "errors.hpp"

namespace gr {

/** Throw GR_CUDA (GR_OOM for allocation failures) naming where and which call when `e` is an error. */
void cuda_check(cudaError_t e, const std::string& where, const char* call);

template <class F> __global__ void k_for_each(idx_t n, F f) {
  for (idx_t i = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (idx_t)blockDim.x * gridDim.x) f(i);
}

template <class F> __global__ void k_segment_per_thread(idx_t nseg, idx_t len, F f) {
  for (idx_t s = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; s < nseg; s += (idx_t)blockDim.x * gridDim.x)
    f.store(s, fold_strided(f, f.row(s), 0, 1, len));
}

/** The block's pairwise combine over sh[0, blockDim): the same tree as HostExec::tree. */
template <class A, class Op> __device__ void block_tree(A* sh, Op op) {
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) sh[threadIdx.x] = op(sh[threadIdx.x], sh[threadIdx.x + s]);
    __syncthreads();
  }
}

template <class F> __global__ void k_segment_per_block(idx_t nseg, idx_t len, F f) {
  extern __shared__ __align__(16) unsigned char gr_smem[];
  using Acc = typename F::Acc;
  Acc* sh = reinterpret_cast<Acc*>(gr_smem);
  for (idx_t s = blockIdx.x; s < nseg; s += gridDim.x) {
    sh[threadIdx.x] = fold_strided(f, f.row(s), threadIdx.x, blockDim.x, len);
    __syncthreads();
    block_tree(sh, [&](const Acc& a, const Acc& b) { return f.combine(a, b); });
    if (threadIdx.x == 0) f.store(s, sh[0]);
    __syncthreads();
  }
}

/** Split segments, stage 1: block `task` folds chunk task % chunks of segment task / chunks. */
template <class F>
__global__ void k_segment_chunks(idx_t nseg, idx_t len, idx_t chunks, idx_t chunkLen, F f, typename F::Acc* partial) {
  extern __shared__ __align__(16) unsigned char gr_smem[];
  using Acc = typename F::Acc;
  Acc* sh = reinterpret_cast<Acc*>(gr_smem);
  for (idx_t task = blockIdx.x; task < nseg * chunks; task += gridDim.x) {
    idx_t lo, hi;
    chunk_range(task % chunks, chunkLen, len, &lo, &hi);
    sh[threadIdx.x] = fold_strided(f, f.row(task / chunks), lo + threadIdx.x, blockDim.x, hi);
    __syncthreads();
    block_tree(sh, [&](const Acc& a, const Acc& b) { return f.combine(a, b); });
    if (threadIdx.x == 0) partial[task] = sh[0];
    __syncthreads();
  }
}

/** Split segments, stage 2: a thread per segment combines its partials in chunk order. */
template <class F> __global__ void k_segment_finish(idx_t nseg, idx_t chunks, F f, const typename F::Acc* partial) {
  for (idx_t s = (idx_t)blockIdx.x * blockDim.x + threadIdx.x; s < nseg; s += (idx_t)blockDim.x * gridDim.x)
    f.store(s, combine_chunks(f, partial, s, chunks));
}

/** Split rows, second pass: every block rebuilds its row's first-pass result from the partials. */
template <class F>
__global__ void k_rows_chunks2(idx_t nrows, idx_t len, idx_t chunks, idx_t chunkLen, F f, const typename F::Acc* p1,
                               typename F::Acc2* p2) {
  extern __shared__ __align__(16) unsigned char gr_smem[];
  using Acc2 = typename F::Acc2;
  Acc2* sh = reinterpret_cast<Acc2*>(gr_smem);
  for (idx_t task = blockIdx.x; task < nrows * chunks; task += gridDim.x) {
    idx_t r = task / chunks, lo, hi;
    chunk_range(task % chunks, chunkLen, len, &lo, &hi);
    auto a1 = combine_chunks(f, p1, r, chunks);
    sh[threadIdx.x] = fold_strided2(f, f.row(r), a1, lo + threadIdx.x, blockDim.x, hi);
    __syncthreads();
    block_tree(sh, [&](const Acc2& a, const Acc2& b) { return f.combine2(a, b); });
    if (threadIdx.x == 0) p2[task] = sh[0];
    __syncthreads();
  }
}

/** Split rows, writes: each block finishes its row from the partials and writes its chunk. */
template <class F>
__global__ void k_rows_chunk_writes(idx_t nrows, idx_t len, idx_t chunks, idx_t chunkLen, F f, const typename F::Acc* p1,
                                    const typename F::Acc2* p2) {
  for (idx_t task = blockIdx.x; task < nrows * chunks; task += gridDim.x) {
    idx_t r = task / chunks, c = task % chunks, lo, hi;
    chunk_range(c, chunkLen, len, &lo, &hi);
    auto row = f.row(r);
    typename F::Acc2 a2 = f.init2();
    if constexpr (F::kPasses == 2) a2 = combine_chunks2(f, p2, r, chunks);
    auto fin = f.finish(row, combine_chunks(f, p1, r, chunks), a2);
    if constexpr (F::kWrite)
      for (idx_t k = lo + threadIdx.x; k < hi; k += blockDim.x) f.write(row, fin, k);
    if (c == 0 && threadIdx.x == 0) f.write_row(r, row, fin);
  }
}

template <class F> __global__ void k_rows(idx_t nrows, idx_t len, F f) {
  extern __shared__ __align__(16) unsigned char gr_smem[];
  using Acc = typename F::Acc;
  using Acc2 = typename F::Acc2;
  Acc* s1 = reinterpret_cast<Acc*>(gr_smem);
  Acc2* s2 = reinterpret_cast<Acc2*>(gr_smem);
  for (idx_t r = blockIdx.x; r < nrows; r += gridDim.x) {
    auto row = f.row(r);
    s1[threadIdx.x] = fold_strided(f, row, threadIdx.x, blockDim.x, len);
    __syncthreads();
    block_tree(s1, [&](const Acc& a, const Acc& b) { return f.combine(a, b); });
    Acc a1 = s1[0];
    __syncthreads();
    Acc2 a2 = f.init2();
    if constexpr (F::kPasses == 2) {
      s2[threadIdx.x] = fold_strided2(f, row, a1, threadIdx.x, blockDim.x, len);
      __syncthreads();
      block_tree(s2, [&](const Acc2& a, const Acc2& b) { return f.combine2(a, b); });
      a2 = s2[0];
      __syncthreads();
    }
    auto fin = f.finish(row, a1, a2);
    if constexpr (F::kWrite)
      for (idx_t k = threadIdx.x; k < len; k += blockDim.x) f.write(row, fin, k);
    if (threadIdx.x == 0) f.write_row(r, row, fin);
  }
}

template <class T> __global__ void k_gemm_tiled(GemmDesc<T> d) {
  using C = compute_t<T>;
  __shared__ T as[kTile][kTile + 1];
  __shared__ T bs[kTile][kTile + 1];
  const int ty = threadIdx.y, tx = threadIdx.x;
  const idx_t row = (idx_t)blockIdx.y * kTile + ty, col = (idx_t)blockIdx.x * kTile + tx;
  for (idx_t bz = blockIdx.z; bz < d.nbatch; bz += gridDim.z) {
    idx_t off[2];
    d.batch.offsets(bz, off);
    const T* a = d.a + off[0];
    const T* b = d.b + off[1];
    C acc = C(0);
    for (idx_t k0 = 0; k0 < d.s.k; k0 += kTile) {
      as[ty][tx] = gemm_load_a(a, d.s, row, k0 + tx);
      bs[ty][tx] = gemm_load_b(b, d.s, k0 + ty, col);
      __syncthreads();
      acc = tile_dot<T>(as, bs, ty, tx, acc);
      __syncthreads();
    }
    if (row < d.s.m && col < d.s.n) d.c[bz * d.s.m * d.s.n + row * d.s.n + col] = Store<T>::from((double)acc);
  }
}

/** Device scratch memory for multi-stage kernels, released (stream-ordered) right after enqueueing. */
struct ScratchPool {
  virtual void* acquire(size_t bytes, size_t* cls) = 0;
  virtual void release(void* p, size_t cls) = 0;

 protected:
  ~ScratchPool() = default;
};

/** Scratch for one launch, handed back when the launch is enqueued (reuse is stream-ordered). */
template <class A> struct Scratch {
  ScratchPool* pool;
  A* ptr = nullptr;
  size_t cls = 0;
  Scratch(ScratchPool* p, idx_t count) : pool(p) {
    if (count > 0) ptr = static_cast<A*>(pool->acquire((size_t)count * sizeof(A), &cls));
  }
  ~Scratch() {
    if (ptr) pool->release(ptr, cls);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
};

struct GpuExec {
  cudaStream_t stream = nullptr;
  ScratchPool* scratch = nullptr;
  int sms = 1;
  Cublas* cublas = nullptr;
  /** Synchronize after every launch, so an asynchronous fault is pinned on its kernel (GRADREG_CUDA_SYNC=1). */
  bool syncEach = false;

  void after(const char* kernel) {
    cudaError_t e = cudaGetLastError();
    if (e == cudaSuccess && syncEach) e = cudaStreamSynchronize(stream);
    if (e != cudaSuccess) cuda_check(e, std::string("kernel '") + kernel + "'", syncEach ? "kernel launch or execution" : "kernel launch");
  }

  unsigned grid_for(idx_t items, int block) const {
    idx_t g = (items + block - 1) / block, cap = (idx_t)sms * 32;
    return (unsigned)(g < cap ? (g < 1 ? 1 : g) : cap);
  }

  template <class F> void for_each(const char* kernel, idx_t n, const F& f) {
    if (n <= 0) return;
    k_for_each<F><<<grid_for(n, 256), 256, 0, stream>>>(n, f);
    after(kernel);
  }

  template <class F> void segments(const char* kernel, idx_t nseg, idx_t len, const F& f, bool perBlock) {
    if (nseg <= 0) return;
    using Acc = typename F::Acc;
    SegmentPlan p = plan_segments(nseg, len, perBlock, sms);
    if (p.mode == SegmentPlan::kThreadPerSegment) {
      k_segment_per_thread<F><<<grid_for(nseg, 256), 256, 0, stream>>>(nseg, len, f);
    } else if (p.mode == SegmentPlan::kBlockPerSegment) {
      k_segment_per_block<F><<<grid_for(nseg, 1), p.block, p.block * sizeof(Acc), stream>>>(nseg, len, f);
    } else {
      Scratch<Acc> partial(scratch, nseg * p.chunks);
      k_segment_chunks<F><<<grid_for(nseg * p.chunks, 1), p.block, p.block * sizeof(Acc), stream>>>(nseg, len, p.chunks, p.chunkLen, f, partial.ptr);
      after(kernel);
      k_segment_finish<F><<<grid_for(nseg, 256), 256, 0, stream>>>(nseg, p.chunks, f, partial.ptr);
    }
    after(kernel);
  }

  template <class F> void rows(const char* kernel, idx_t nrows, idx_t len, const F& f) {
    if (nrows <= 0) return;
    using Acc = typename F::Acc;
    using Acc2 = typename F::Acc2;
    SegmentPlan p = plan_segments(nrows, len, true, sms);
    if (p.mode != SegmentPlan::kSplitSegments) {
      size_t acc = sizeof(Acc) > sizeof(Acc2) ? sizeof(Acc) : sizeof(Acc2);
      k_rows<F><<<grid_for(nrows, 1), p.block, p.block * acc, stream>>>(nrows, len, f);
      after(kernel);
      return;
    }
    // Few long rows: first-pass partials per chunk, second-pass partials per chunk, chunked writes.
    idx_t tasks = nrows * p.chunks;
    Scratch<Acc> p1(scratch, tasks);
    Scratch<Acc2> p2(scratch, F::kPasses == 2 ? tasks : 0);
    k_segment_chunks<F><<<grid_for(tasks, 1), p.block, p.block * sizeof(Acc), stream>>>(nrows, len, p.chunks, p.chunkLen, f, p1.ptr);
    after(kernel);
    if constexpr (F::kPasses == 2) {
      k_rows_chunks2<F><<<grid_for(tasks, 1), p.block, p.block * sizeof(Acc2), stream>>>(nrows, len, p.chunks, p.chunkLen, f, p1.ptr, p2.ptr);
      after(kernel);
    }
    k_rows_chunk_writes<F><<<grid_for(tasks, 1), p.block, 0, stream>>>(nrows, len, p.chunks, p.chunkLen, f, p1.ptr, p2.ptr);
    after(kernel);
  }

  template <class T> void gemm(const char* kernel, const GemmDesc<T>& d);

 private:
  template <class T> void gemm_tiled(const char* kernel, const GemmDesc<T>& d) {
    dim3 block(kTile, kTile);
    idx_t gz = d.nbatch < 65535 ? d.nbatch : 65535;
    if ((d.s.m + kTile - 1) / kTile > 65535) fail("GR_ARGUMENT", std::string("kernel '") + kernel + "': more than 1048560 rows");
    dim3 grid((unsigned)((d.s.n + kTile - 1) / kTile), (unsigned)((d.s.m + kTile - 1) / kTile), (unsigned)gz);
    k_gemm_tiled<T><<<grid, block, 0, stream>>>(d);
    after(kernel);
  }

  /** cuBLAS is column-major: C^T = op(B)^T op(A)^T, so B goes first and M, N swap. */
  template <class T> void gemm_cublas(const char* kernel, const GemmDesc<T>& d, idx_t aOff, idx_t bOff, idx_t cOff,
                                      idx_t count, idx_t strideA, idx_t strideB);
};

template <class T> void GpuExec::gemm(const char* kernel, const GemmDesc<T>& d) {
  if (d.nbatch <= 0 || d.s.m <= 0 || d.s.n <= 0) return;
  if constexpr (!std::is_floating_point<T>::value) {
    gemm_tiled(kernel, d);
  } else {
    bool dimsFit = d.s.m < (1LL << 31) && d.s.n < (1LL << 31) && d.s.k < (1LL << 31);
    if (cublas == nullptr || !cublas->ready() || d.s.k == 0 || !dimsFit) {
      gemm_tiled(kernel, d);
      return;
    }
    const Indexer<2>& ix = d.batch;
    if (ix.rank <= 1) {
      idx_t sa = ix.rank == 1 ? ix.stride[0][0] : 0, sb = ix.rank == 1 ? ix.stride[1][0] : 0;
      gemm_cublas(kernel, d, 0, 0, 0, d.nbatch, sa, sb);
      return;
    }
    // Broadcast batch dims that do not merge: one strided-batched call per index of the outer dims.
    idx_t inner = ix.shape[ix.rank - 1];
    for (idx_t q = 0; q < d.nbatch / inner; ++q) {
      idx_t off[2];
      ix.offsets(q * inner, off);
      gemm_cublas(kernel, d, off[0], off[1], q * inner * d.s.m * d.s.n, inner, ix.stride[0][ix.rank - 1],
                  ix.stride[1][ix.rank - 1]);
    }
  }
}

template <class T>
void GpuExec::gemm_cublas(const char* kernel, const GemmDesc<T>& d, idx_t aOff, idx_t bOff, idx_t cOff, idx_t count,
                          idx_t strideA, idx_t strideB) {
  const int m = (int)d.s.m, n = (int)d.s.n, k = (int)d.s.k;
  const int opA = d.s.transA ? Cublas::kOpT : Cublas::kOpN, opB = d.s.transB ? Cublas::kOpT : Cublas::kOpN;
  const int lda = d.s.transA ? m : k, ldb = d.s.transB ? k : n;
  const T one = 1, zero = 0;
  for (idx_t done = 0; done < count; done += 65535) {
    int batch = (int)(count - done < 65535 ? count - done : 65535);
    const T* a = d.a + aOff + done * strideA;
    const T* b = d.b + bOff + done * strideB;
    T* c = d.c + cOff + done * (idx_t)m * n;
    int st;
    if constexpr (std::is_same<T, double>::value)
      st = cublas->dgemm(cublas->handle, opB, opA, n, m, k, &one, b, ldb, strideB, a, lda, strideA, &zero, c, n,
                         (long long)m * n, batch);
    else
      st = cublas->sgemm(cublas->handle, opB, opA, n, m, k, &one, b, ldb, strideB, a, lda, strideA, &zero, c, n,
                         (long long)m * n, batch);
    cublas->check(st, kernel, "cublasGemmStridedBatched");
  }
  after(kernel);
}

}  // namespace gr
