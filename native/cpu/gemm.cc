// Cache-blocked, packed GEMM (the BLIS loop nest): a KC x NC panel of B is packed into NR-wide
// strips that stay in L1 while MC x KC blocks of A (packed into MR-tall strips, held in L2) stream
// past them; an MR x NR register-blocked micro-kernel does the flops. The micro-kernel is picked at
// run time: AVX-512, AVX2+FMA or portable C++ (float64 always uses the portable one).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "common.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace gr {
namespace {

template <class T>
using UkrFn = void (*)(long, const T*, const T*, long, T*, long, int);

template <class T>
struct Kernel {
  int mr, nr;
  UkrFn<T> f;
};

constexpr int MAX_MR = 16;
constexpr int MAX_NR = 32;
constexpr long KC = 256;
constexpr long MC_TARGET = 128;
constexpr long NC_TARGET = 4096;

template <class T, int MR, int NR>
void ukr_portable(long K, const T* a, const T* b, long ldb, T* c, long ldc, int acc) {
  T t[MR][NR] = {};
  for (long k = 0; k < K; k++) {
    for (int r = 0; r < MR; r++) {
      const T av = a[r];
      for (int j = 0; j < NR; j++) t[r][j] += av * b[j];
    }
    a += MR;
    b += ldb;
  }
  for (int r = 0; r < MR; r++) {
    T* cr = c + r * ldc;
    if (acc)
      for (int j = 0; j < NR; j++) cr[j] += t[r][j];
    else
      for (int j = 0; j < NR; j++) cr[j] = t[r][j];
  }
}

bool cpu_has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool cpu_has_avx512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && cpu_has_avx2();
}

int pick_default_isa() {
  if (const char* e = std::getenv("GRADREG_NATIVE_ISA")) {
    if (!std::strcmp(e, "portable")) return ISA_PORTABLE;
    if (!std::strcmp(e, "avx2") && cpu_has_avx2()) return ISA_AVX2;
    if (!std::strcmp(e, "avx512") && cpu_has_avx512()) return ISA_AVX512;
  }
  if (cpu_has_avx512()) return ISA_AVX512;
  if (cpu_has_avx2()) return ISA_AVX2;
  return ISA_PORTABLE;
}

int g_isa = -1;
Kernel<float> g_kf{4, 8, ukr_portable<float, 4, 8>};
const Kernel<double> g_kd{4, 8, ukr_portable<double, 4, 8>};

void apply_isa(int isa) {
  g_isa = isa;
  if (isa == ISA_AVX512) g_kf = {8, 32, ukr_avx512_8x32};
  else if (isa == ISA_AVX2) g_kf = {6, 16, ukr_avx2_6x16};
  else g_kf = {4, 8, ukr_portable<float, 4, 8>};
}

void ensure_isa() {
  if (g_isa < 0) apply_isa(pick_default_isa());
}

template <class T>
const Kernel<T>& kernel();
template <>
const Kernel<float>& kernel<float>() {
  ensure_isa();
  return g_kf;
}
template <>
const Kernel<double>& kernel<double>() {
  return g_kd;
}

// Thread-local packing buffers (see Scratch in common.h).
thread_local Scratch tl_a, tl_b;

template <class T>
inline const T* a_ptr(const Operand<T>& A, long i, long k) {
  long q = i / A.len, r = i - q * A.len;
  const T* base = A.p + q * A.stride;
  return A.trans ? base + k * A.ld + r : base + r * A.ld + k;
}

template <class T>
inline const T* b_ptr(const Operand<T>& B, long k, long j) {
  long q = j / B.len, r = j - q * B.len;
  const T* base = B.p + q * B.stride;
  return B.trans ? base + r * B.ld + k : base + k * B.ld + r;
}

// d[k * W + r] = src[r][k] for r < count, k < kc: the transposing half of packing (rows of A, or
// columns of a transposed B, contiguous along k). Floats go through 4x4 SSE transposes.
template <class T>
inline void pack_transpose(const T* const* src, int count, long kc, int W, T* d) {
  int r = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; r + 4 <= count; r += 4) {
      const float *s0 = src[r], *s1 = src[r + 1], *s2 = src[r + 2], *s3 = src[r + 3];
      long k = 0;
      for (; k + 4 <= kc; k += 4) {
        __m128 x0 = _mm_loadu_ps(s0 + k), x1 = _mm_loadu_ps(s1 + k), x2 = _mm_loadu_ps(s2 + k), x3 = _mm_loadu_ps(s3 + k);
        _MM_TRANSPOSE4_PS(x0, x1, x2, x3);
        _mm_storeu_ps(d + k * W + r, x0);
        _mm_storeu_ps(d + (k + 1) * W + r, x1);
        _mm_storeu_ps(d + (k + 2) * W + r, x2);
        _mm_storeu_ps(d + (k + 3) * W + r, x3);
      }
      for (; k < kc; k++) {
        d[k * W + r] = s0[k];
        d[k * W + r + 1] = s1[k];
        d[k * W + r + 2] = s2[k];
        d[k * W + r + 3] = s3[k];
      }
    }
  }
#endif
  for (; r < count; r++) {
    const T* s = src[r];
    for (long k = 0; k < kc; k++) d[k * W + r] = s[k];
  }
}

template <class T>
void pack_a(const Operand<T>& A, long i0, long mc, long p0, long kc, int MR, T* dst) {
  const T* ptr[MAX_MR];
  for (long ir = 0; ir < mc; ir += MR) {
    T* d = dst + ir * kc;
    int rows = static_cast<int>(std::min<long>(MR, mc - ir));
    for (int r = 0; r < rows; r++) ptr[r] = a_ptr(A, i0 + ir + r, p0);
    if (!A.trans) {
      pack_transpose(ptr, rows, kc, MR, d);
    } else if (rows == MR && ptr[MR - 1] == ptr[0] + (MR - 1)) {
      const T* s = ptr[0];
      for (long k = 0; k < kc; k++, s += A.ld)
        for (int r = 0; r < MR; r++) d[k * MR + r] = s[r];
    } else {
      for (long k = 0; k < kc; k++)
        for (int r = 0; r < rows; r++) d[k * MR + r] = ptr[r][k * A.ld];
    }
    if (rows < MR)
      for (long k = 0; k < kc; k++)
        for (int r = rows; r < MR; r++) d[k * MR + r] = T(0);
  }
}

template <class T>
void pack_b(const Operand<T>& B, long j0, long nc, long p0, long kc, int NR, T* dst) {
  const T* ptr[MAX_NR];
  for (long jr = 0; jr < nc; jr += NR) {
    T* d = dst + jr * kc;
    int cols = static_cast<int>(std::min<long>(NR, nc - jr));
    for (int c = 0; c < cols; c++) ptr[c] = b_ptr(B, p0, j0 + jr + c);
    if (!B.trans) {
      if (cols == NR && ptr[NR - 1] == ptr[0] + (NR - 1)) {
        const T* s = ptr[0];
        for (long k = 0; k < kc; k++, s += B.ld)
          for (int c = 0; c < NR; c++) d[k * NR + c] = s[c];
      } else {
        // Columns straddle a batch boundary: copy each contiguous run of columns.
        int segStart[MAX_NR], segLen[MAX_NR], segs = 0;
        for (int c = 0; c < cols; c++) {
          if (segs > 0 && ptr[c] == ptr[segStart[segs - 1]] + segLen[segs - 1]) segLen[segs - 1]++;
          else {
            segStart[segs] = c;
            segLen[segs] = 1;
            segs++;
          }
        }
        for (long k = 0; k < kc; k++)
          for (int q = 0; q < segs; q++) {
            const T* s = ptr[segStart[q]] + k * B.ld;
            T* o = d + k * NR + segStart[q];
            for (int c = 0; c < segLen[q]; c++) o[c] = s[c];
          }
      }
    } else {
      pack_transpose(ptr, cols, kc, NR, d);
    }
    if (cols < NR)
      for (long k = 0; k < kc; k++)
        for (int c = cols; c < NR; c++) d[k * NR + c] = T(0);
  }
}

template <class T>
inline T* c_ptr(T* C, const COut& co, long i, long j) {
  if (co.trans) {
    const long t = i;
    i = j;
    j = t;
  }
  long qi = i / co.rowLen, ri = i - qi * co.rowLen;
  long qj = j / co.colLen, rj = j - qj * co.colLen;
  return C + qi * co.rowStride + ri * co.ldc + qj * co.colStride + rj;
}

template <class T>
void gemm_block(long m0, long m1, long n0, long n1, long K, const Operand<T>& A, const Operand<T>& B, T* C,
                const COut& co, bool accFirst = false) {
  const Kernel<T>& kr = kernel<T>();
  const int MR = kr.mr, NR = kr.nr;
  const long MC = std::max<long>(MR, MC_TARGET / MR * MR);
  const long NC = NC_TARGET / NR * NR;
  const long ncMax = std::min<long>(NC, (n1 - n0 + NR - 1) / NR * NR);
  const long mcMax = std::min<long>(MC, (m1 - m0 + MR - 1) / MR * MR);
  // Split K into equal blocks of at most KC: a short last block would pay a full C read-modify-write.
  const long kBlocks = (K + KC - 1) / KC;
  const long kcMax = (K + kBlocks - 1) / kBlocks;
  // With a single block of A rows, a packed B panel would be used once: read untransposed B in
  // place (the micro-kernel takes B's row stride) and pack only tiles that straddle a batch edge.
  const bool directB = !B.trans && (m1 - m0) <= MC;
  T* Bp = tl_b.get<T>((directB ? NR : ncMax) * kcMax + 64 / sizeof(T));
  T* Ap = tl_a.get<T>(mcMax * kcMax + 64 / sizeof(T));
  alignas(64) T tile[MAX_MR * MAX_NR];
  for (long jc = n0; jc < n1; jc += NC) {
    const long nc = std::min(NC, n1 - jc);
    for (long pc = 0; pc < K; pc += kcMax) {
      const long kc = std::min(kcMax, K - pc);
      const int acc = pc > 0 || accFirst;
      if (!directB) pack_b(B, jc, nc, pc, kc, NR, Bp);
      for (long ic = m0; ic < m1; ic += MC) {
        const long mc = std::min(MC, m1 - ic);
        pack_a(A, ic, mc, pc, kc, MR, Ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const long nr = std::min<long>(NR, nc - jr);
          const long j = jc + jr;
          const bool colsOk = !co.trans && nr == NR && (j % co.colLen) + NR <= co.colLen;
          const T* bp;
          long ldb = NR;
          if (!directB) bp = Bp + jr * kc;
          else if (nr == NR && (j % B.len) + NR <= B.len) {
            bp = b_ptr(B, pc, j);
            ldb = B.ld;
          } else {
            pack_b(B, j, nr, pc, kc, NR, Bp);
            bp = Bp;
          }
          for (long ir = 0; ir < mc; ir += MR) {
            const long mr = std::min<long>(MR, mc - ir);
            const long i = ic + ir;
            const T* ap = Ap + ir * kc;
            if (colsOk && mr == MR && (i % co.rowLen) + MR <= co.rowLen) {
              kr.f(kc, ap, bp, ldb, c_ptr(C, co, i, j), co.ldc, acc);
            } else {
              kr.f(kc, ap, bp, ldb, tile, NR, 0);
              long colOff[MAX_NR], rowOff[MAX_MR];
              for (long c = 0; c < nr; c++) colOff[c] = c_ptr(C, co, i, j + c) - c_ptr(C, co, i, j);
              for (long r = 0; r < mr; r++) rowOff[r] = c_ptr(C, co, i + r, j) - C;
              for (long r = 0; r < mr; r++) {
                T* row = C + rowOff[r];
                const T* t = tile + r * NR;
                if (acc)
                  for (long c = 0; c < nr; c++) row[colOff[c]] += t[c];
                else
                  for (long c = 0; c < nr; c++) row[colOff[c]] = t[c];
              }
            }
          }
        }
      }
    }
  }
}

}  // namespace

bool isa_supported(int isa) {
  if (isa == ISA_PORTABLE) return true;
  if (isa == ISA_AVX2) return cpu_has_avx2();
  if (isa == ISA_AVX512) return cpu_has_avx512();
  return false;
}

int isa_active() {
  ensure_isa();
  return g_isa;
}

bool isa_select(int isa) {
  if (!isa_supported(isa)) return false;
  apply_isa(isa);
  return true;
}

const char* isa_name(int isa) {
  switch (isa) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    default: return "portable";
  }
}

template <class T>
void gemm(long M, long N, long K, const Operand<T>& A, const Operand<T>& B, T* C, const COut& co, bool parallel,
          bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (accumulate) return;
    for (long i = 0; i < M; i++)
      for (long j = 0; j < N; j++) *c_ptr(C, co, i, j) = T(0);
    return;
  }
  const Kernel<T>& kr = kernel<T>();
  if (!co.trans && N < kr.nr && M >= 2 * N && co.rowLen >= M && co.colLen >= N) {
    // A product narrower than one micro-tile wastes most of it: compute C^T = op(B)^T op(A)^T.
    Operand<T> At{B.p, B.ld, !B.trans, B.len, B.stride};
    Operand<T> Bt{A.p, A.ld, !A.trans, A.len, A.stride};
    COut ct = co;  // c_ptr swaps (i, j) back before applying C's own layout
    ct.trans = true;
    gemm<T>(N, M, K, At, Bt, C, ct, parallel, accumulate);
    return;
  }
  const int nt = parallel ? num_threads() : 1;
  const double flops = 2.0 * M * N * K;
  if (nt <= 1 || flops < 4e5) {
    gemm_block<T>(0, M, 0, N, K, A, B, C, co, accumulate);
    return;
  }
  const long nStrips = (N + kr.nr - 1) / kr.nr;
  const long mStrips = (M + kr.mr - 1) / kr.mr;
  // Parts are claimed dynamically by the pool; each packs its own copy of the other operand, which
  // costs about 16 / (part width) of the flops, so parts stay >= 256 wide when there are few threads'
  // worth of columns (up to 4 per thread otherwise, so a descheduled worker delays little).
  auto partsFor = [&](long strips, long width) {
    return std::max<long>(1, std::min<long>(strips, std::clamp<long>(width / 256, nt, 4L * nt)));
  };
  if (nStrips >= 2L * nt || nStrips >= mStrips) {
    const long parts = partsFor(nStrips, N);
    parallel_for(parts, 1, [&](long b, long e) {
      long s0 = nStrips * b / parts, s1 = nStrips * e / parts;
      long j0 = s0 * kr.nr, j1 = std::min(N, s1 * kr.nr);
      if (j0 < j1) gemm_block<T>(0, M, j0, j1, K, A, B, C, co, accumulate);
    });
  } else {
    const long parts = partsFor(mStrips, M);
    parallel_for(parts, 1, [&](long b, long e) {
      long s0 = mStrips * b / parts, s1 = mStrips * e / parts;
      long i0 = s0 * kr.mr, i1 = std::min(M, s1 * kr.mr);
      if (i0 < i1) gemm_block<T>(i0, i1, 0, N, K, A, B, C, co, accumulate);
    });
  }
}

NtTileFn nt_tile(int* lanes, bool sum) {
  static const bool enabled = [] {
    const char* e = std::getenv("GRADREG_NATIVE_NT");
    return !(e && e[0] == '0');
  }();
  const int isa = isa_active();
  if (!enabled || isa == ISA_PORTABLE) return nullptr;
  *lanes = isa == ISA_AVX512 ? 16 : 8;
  if (sum) return isa == ISA_AVX512 ? nt4x4_sum_avx512 : nt4x4_sum_avx2;
  return isa == ISA_AVX512 ? nt4x4_avx512 : nt4x4_avx2;
}

// C = sum_q A_q B_q^T with A_q [M, K] and B_q [N, K] both contiguous along k, by dot-product tiles
// (no packing: with long k the packs would cost as much as the flops). Returns false when no SIMD
// tile kernel is active.
bool gemm_nt_batch_sum(long M, long N, long K, long nb, const float* A, long lda, long sA, const float* B, long ldb,
                       long sB, float* C, long ldc) {
  int lanes = 0;
  const NtTileFn tile = nt_tile(&lanes);
  if (!tile) return false;
  const long ti = (M + 3) / 4, tj = (N + 3) / 4;
  const long per = 16L * lanes;
  float* part = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (ti * tj * per + 16)));
  std::memset(part, 0, sizeof(float) * ti * tj * per);
  // Threads split the tile columns; each runs the whole batch over its columns so B_q's rows it
  // needs stay in its L2 while every row block of A_q passes.
  parallel_for(tj, 1, [&](long jb0, long jb1) {
    for (long q = 0; q < nb; q++) {
      const float* Aq = A + q * sA;
      const float* Bq = B + q * sB;
      for (long ib = 0; ib < ti; ib++) {
        const float* ar[4];
        for (int r = 0; r < 4; r++) ar[r] = Aq + std::min(ib * 4 + r, M - 1) * lda;
        for (long jb = jb0; jb < jb1; jb++) {
          const float* br[4];
          for (int c = 0; c < 4; c++) br[c] = Bq + std::min(jb * 4 + c, N - 1) * ldb;
          tile(K, 1, ar, 0, br, 0, part + (ib * tj + jb) * per);
        }
      }
    }
  });
  for (long i = 0; i < M; i++)
    for (long j = 0; j < N; j++) {
      const float* p = part + ((i / 4) * tj + j / 4) * per + ((i % 4) * 4 + (j % 4)) * lanes;
      float s = 0;
      for (int l = 0; l < lanes; l++) s += p[l];
      C[i * ldc + j] = s;
    }
  std::free(part);
  return true;
}

template <class T>
void gemm_batch_sum(long M, long N, long K, long nb, const Operand<T>& A, long sA, const Operand<T>& B, long sB, T* C,
                    const COut& co) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || nb <= 0) {
    for (long i = 0; i < M; i++)
      for (long j = 0; j < N; j++) *c_ptr(C, co, i, j) = T(0);
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    const bool plain = !co.trans && A.len >= M && B.len >= N && co.rowLen >= M && co.colLen >= N;
    if (plain && !A.trans && B.trans && K >= 512 &&
        gemm_nt_batch_sum(M, N, K, nb, A.p, A.ld, sA, B.p, B.ld, sB, C, co.ldc))
      return;
  }
  const Kernel<T>& kr = kernel<T>();
  if (!co.trans && N < kr.nr && M >= 2 * N) {
    Operand<T> At{B.p, B.ld, !B.trans, B.len, B.stride};
    Operand<T> Bt{A.p, A.ld, !A.trans, A.len, A.stride};
    COut ct = co;
    ct.trans = true;
    gemm_batch_sum<T>(N, M, K, nb, At, sB, Bt, sA, C, ct);
    return;
  }
  // Each part owns a slab of C and runs the whole batch into it, so no two threads touch one output.
  auto slab = [&](long m0, long m1, long n0, long n1) {
    for (long q = 0; q < nb; q++) {
      Operand<T> Aq = A, Bq = B;
      Aq.p += q * sA;
      Bq.p += q * sB;
      gemm_block<T>(m0, m1, n0, n1, K, Aq, Bq, C, co, q > 0);
    }
  };
  const int nt = num_threads();
  const long nStrips = (N + kr.nr - 1) / kr.nr;
  const long mStrips = (M + kr.mr - 1) / kr.mr;
  if (nt <= 1 || 2.0 * M * N * K * nb < 4e5) {
    slab(0, M, 0, N);
  } else if (nStrips >= mStrips) {
    const long parts = std::min<long>(nStrips, 4L * nt);
    parallel_for(parts, 1, [&](long b, long e) {
      long j0 = nStrips * b / parts * kr.nr, j1 = std::min(N, nStrips * e / parts * kr.nr);
      if (j0 < j1) slab(0, M, j0, j1);
    });
  } else {
    const long parts = std::min<long>(mStrips, 4L * nt);
    parallel_for(parts, 1, [&](long b, long e) {
      long i0 = mStrips * b / parts * kr.mr, i1 = std::min(M, mStrips * e / parts * kr.mr);
      if (i0 < i1) slab(i0, i1, 0, N);
    });
  }
}

template void gemm_batch_sum<float>(long, long, long, long, const Operand<float>&, long, const Operand<float>&, long,
                                    float*, const COut&);
template void gemm_batch_sum<double>(long, long, long, long, const Operand<double>&, long, const Operand<double>&,
                                     long, double*, const COut&);
template void gemm<float>(long, long, long, const Operand<float>&, const Operand<float>&, float*, const COut&, bool,
                          bool);
template void gemm<double>(long, long, long, const Operand<double>&, const Operand<double>&, double*, const COut&,
                           bool, bool);

}  // namespace gr
