// Batched matmul on top of the GEMM driver. A broadcast operand turns the batch into one large
// GEMM: W[M,K] @ X[n][K,L] (conv forward, its input gradient) runs as one M x (n*L) product over
// batched columns, X[n][M,K] @ W[K,N] as one (n*M) x N product over batched rows. Other batches run
// in parallel over batch entries when each entry is small, one after another otherwise.
#include <vector>

#include "kernels.h"
#include "nditer.h"

namespace gr {
namespace {

template <class T>
void matmul_t(const T* a, const T* b, T* out, bool ta, bool tb, long M, long N, long K, int br, const long* obatch,
              const long* abatch, const long* bbatch) {
  long nb = 1, an = 1, bn = 1;
  for (int d = 0; d < br; d++) {
    nb *= obatch[d];
    an *= abatch[d];
    bn *= bbatch[d];
  }
  const long lda = ta ? M : K, ldb = tb ? K : N;
  const long sA = M * K, sB = K * N, sC = M * N;
  if (nb == 0) return;
  if (nb == 1 || (an == 1 && bn == nb)) {
    Operand<T> A{a, lda, ta, M, 0};
    Operand<T> B{b, ldb, tb, N, sB};
    COut co{N, M, 0, N, sC};
    gemm<T>(M, N * nb, K, A, B, out, co, true);
    return;
  }
  if (bn == 1 && an == nb) {
    // Untransposed batches of A are one tall matrix already; transposed ones are batched rows.
    const long rows = ta ? M : M * nb;
    Operand<T> A{a, lda, ta, rows, ta ? sA : 0};
    Operand<T> B{b, ldb, tb, N, 0};
    COut co{N, rows, ta ? sC : 0, N, 0};
    gemm<T>(M * nb, N, K, A, B, out, co, true);
    return;
  }
  long sa[MAX_RANK], sb[MAX_RANK];
  bcast_strides(br, obatch, br, abatch, sa);
  bcast_strides(br, obatch, br, bbatch, sb);
  std::vector<long> aoff(nb), boff(nb);
  for (long q = 0; q < nb; q++) {
    long rem = q, ao = 0, bo = 0;
    for (int d = br - 1; d >= 0; d--) {
      const long i = rem % obatch[d];
      rem /= obatch[d];
      ao += i * sa[d];
      bo += i * sb[d];
    }
    aoff[q] = ao;
    boff[q] = bo;
  }
  auto one = [&](long q, bool par) {
    Operand<T> A{a + aoff[q] * sA, lda, ta, M, 0};
    Operand<T> B{b + boff[q] * sB, ldb, tb, N, 0};
    COut co{N, M, 0, N, 0};
    gemm<T>(M, N, K, A, B, out + q * sC, co, par);
  };
  const double flops = 2.0 * M * N * K;
  if (nb >= num_threads() && flops < 4e7) {
    parallel_for(nb, 1, [&](long lo, long hi) {
      for (long q = lo; q < hi; q++) one(q, false);
    });
  } else {
    for (long q = 0; q < nb; q++) one(q, true);
  }
}

}  // namespace

void k_matmul_sum(int dt, const void* a, const void* b, void* out, bool ta, bool tb, long M, long N, long K, long nb) {
  const long lda = ta ? M : K, ldb = tb ? K : N;
  COut co{N, M, 0, N, 0};
  if (dt == kFloat32)
    gemm_batch_sum<float>(M, N, K, nb, Operand<float>{static_cast<const float*>(a), lda, ta, M, 0}, M * K,
                          Operand<float>{static_cast<const float*>(b), ldb, tb, N, 0}, K * N, static_cast<float*>(out), co);
  else
    gemm_batch_sum<double>(M, N, K, nb, Operand<double>{static_cast<const double*>(a), lda, ta, M, 0}, M * K,
                           Operand<double>{static_cast<const double*>(b), ldb, tb, N, 0}, K * N,
                           static_cast<double*>(out), co);
}

void k_matmul(int dt, const void* a, const void* b, void* out, bool ta, bool tb, long M, long N, long K, int br,
              const long* obatch, const long* abatch, const long* bbatch) {
  if (dt == kFloat32)
    matmul_t(static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(out), ta, tb, M, N, K, br,
             obatch, abatch, bbatch);
  else
    matmul_t(static_cast<const double*>(a), static_cast<const double*>(b), static_cast<double*>(out), ta, tb, M, N, K,
             br, obatch, abatch, bbatch);
}

}  // namespace gr
