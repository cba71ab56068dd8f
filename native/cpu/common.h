// Shared declarations of the native CPU backend: the thread pool, the GEMM driver and the
// kernel-family entry points that addon.cc binds to JavaScript.
#pragma once
#include <cstddef>
#include <cstdlib>
#include <cstdint>
#include <type_traits>

namespace gr {

// ---- thread pool ----
int num_threads();
void set_num_threads(int n);
// Run fn(ctx, begin, end) over [0, n) split into at most num_threads() chunks of >= grain items.
void parallel_for_raw(long n, long grain, void (*fn)(void*, long, long), void* ctx);

template <class F>
inline void parallel_for(long n, long grain, F&& f) {
  using Fn = std::remove_reference_t<F>;
  auto thunk = [](void* c, long b, long e) { (*static_cast<Fn*>(c))(b, e); };
  parallel_for_raw(n, grain, thunk, const_cast<void*>(static_cast<const void*>(&f)));
}

// How far ahead (bytes) the Winograd transforms prefetch the rows they read and write:
// GRADREG_NATIVE_PREFETCH, default 2048, 0 for none (winograd_avx512.cc says why). Read once when
// the addon loads, by threadpool.cc's initializer (the ISA files keep no initializers of their own:
// code built with AVX-512 flags must not run before the ISA is checked).
extern const long g_transform_prefetch_bytes;

// A 64-byte aligned buffer that only grows; kernels keep thread_local ones for packs and columns.
struct Scratch {
  void* p = nullptr;
  size_t bytes = 0;
  template <class T>
  T* get(size_t n) {
    if (n * sizeof(T) > bytes) {
      std::free(p);
      bytes = (n * sizeof(T) + 4095) & ~size_t(4095);
      p = std::aligned_alloc(64, bytes);
    }
    return static_cast<T*>(p);
  }
  ~Scratch() { std::free(p); }
};

// ---- GEMM ----
// A logical matrix whose rows (A) or columns (B) may be grouped into batches of `len` entries,
// batch q starting at `p + q * stride`: one GEMM then covers a broadcast operand times a batch.
template <class T>
struct Operand {
  const T* p;
  long ld;       // leading dimension inside one batch entry
  bool trans;    // stored transposed
  long len;      // rows (A) / columns (B) per batch entry
  long stride;   // elements between batch entries
};
struct COut {
  long ldc;
  long rowLen, rowStride;  // row batching of C (matches A's)
  long colLen, colStride;  // column batching of C (matches B's)
  bool trans = false;      // C is written transposed: element (i, j) of the product goes to C(j, i)
};
// C (=|+=) op(A) op(B); `accumulate` adds the product to what C holds.
template <class T>
void gemm(long M, long N, long K, const Operand<T>& A, const Operand<T>& B, T* C, const COut& co, bool parallel,
          bool accumulate = false);

// C = sum over q < nb of op(A_q) op(B_q), A_q at A.p + q * sA, B_q at B.p + q * sB: a batched
// product reduced over its batch without materializing the batch (conv weight gradients).
template <class T>
void gemm_batch_sum(long M, long N, long K, long nb, const Operand<T>& A, long sA, const Operand<T>& B, long sB, T* C,
                    const COut& co);

// Micro-kernel selection (runtime dispatch).
enum Isa { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };
bool isa_supported(int isa);
int isa_active();
bool isa_select(int isa);
const char* isa_name(int isa);

// Kernels compiled in their own translation units with per-file ISA flags.
void ukr_avx2_6x16(long k, const float* a, const float* b, long ldb, float* c, long ldc, int acc);
void ukr_avx512_8x32(long k, const float* a, const float* b, long ldb, float* c, long ldc, int acc);
// The same micro-kernels reading row k of B at b + koff[k] (implicit-GEMM convolution).
void ukr_avx2_6x16_off(long k, const float* a, const float* b, const long* koff, float* c, long ldc, int acc);
void ukr_avx512_8x32_off(long k, const float* a, const float* b, const long* koff, float* c, long ldc, int acc);
// ... and reading the MR A values of step k at a + koff[k] (direct convolution: pixels x output channels).
void ukr_avx2_6x16_aoff(long k, const float* a, const long* koff, const float* b, long ldb, float* c, long ldc, int acc);
void ukr_avx512_8x32_aoff(long k, const float* a, const long* koff, const float* b, long ldb, float* c, long ldc,
                          int acc);
// ... and reading A's row r at arows[r][0..k) (direct weight gradient: taps x output channels over pixels).
void ukr_avx2_6x16_rows(long k, const float* const* arows, const float* b, long ldb, float* c, long ldc, int acc);
void ukr_avx512_8x32_rows(long k, const float* const* arows, const float* b, long ldb, float* c, long ldc, int acc);
void ukr_avx512_8x16_rows(long k, const float* const* arows, const float* b, long ldb, float* c, long ldc, int acc);
double probe_avx2(long iters);
// Direct input gradient of a stride-1 convolution, one image; wt [C, kh, kw, O], d = {O, C, h, w, oh, ow,
// kh, kw, ph, pw}; false (nothing done) for a kernel height it has no instance for (see conv.cc).
bool conv_dx_rows_avx512(const float* gy, const float* wt, float* dx, const long* d);
// Direct weight gradient of a stride-1 convolution, one image, into 16 lane partials per weight;
// d = {O, C, h, w, oh, ow, ph, pw}; false (nothing done) for a kernel size it has no instance for.
bool conv_dw_rows_avx512(const float* x, const float* gy, float* lanes, long kh, long kw, const long* d);
// Direct forward of a stride-1 convolution, one image; wt [C, kh, kw, O], d = {O, C, h, w, oh, ow, ph,
// pw}; false (nothing done) for a kernel size it has no instance for.
bool conv_fwd_rows_avx512(const float* x, const float* wt, float* y, long kh, long kw, const long* d);
// part += sum over q < nq of the 4x4 dot products of rows a[r] + q*sa and b[c] + q*sb (length K).
void nt4x4_avx512(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* part);
void nt4x4_avx2(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* part);
// The same 16 sums from zero, finished: out[r * 4 + c] (no lane partials kept).
void nt4x4_sum_avx512(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* out);
void nt4x4_sum_avx2(long K, long nq, const float* const* a, long sa, const float* const* b, long sb, float* out);
using NtTileFn = void (*)(long, long, const float* const*, long, const float* const*, long, float*);
// The dot-product tile for the active ISA and its lane count (the finished-sum variant when `sum`),
// or null when only the portable GEMM runs.
NtTileFn nt_tile(int* lanes, bool sum = false);
double probe_avx512(long iters);
// Winograd F(2x2, 3x3) transforms of tile rows of one plane (winograd_avx512.cc; see winograd.cc): input
// V = B^T d B (read from a plane, zero-padded on the fly), output Y = A^T M A (clipped to `rows` x
// ow), and the weight gradient's dM = A dY A^T.
void wino_in_avx512(const float* plane, long h, long w, long ph, long pw, long ty0, long ty1, long tw, float* v, long ldxi);
void wino_out_avx512(const float* m, long ldxi, long tw, long ty0, long ty1, float* y, long oh, long ow);
void wino_gy_avx512(const float* g, long ldr, long op, long tw, float* dm, long ldxi);
// The same for F(4x4, 3x3): 6x6 input tiles, 36 transform points, 4x4 output tiles.
void wino4_in_avx512(const float* plane, long h, long w, long ph, long pw, long ty0, long ty1, long tw, float* v, long ldxi);
void wino4_out_avx512(const float* m, long ldxi, long tw, long ty0, long ty1, float* y, long oh, long ow);
void wino4_gy_avx512(const float* g, long ldr, long op, long tw, float* dm, long ldxi);
// F(4x4, 3x3)'s output transform of T consecutive tiles of a block, eight a vector whatever their
// tile rows: tile f's outputs (r, k) go to y[off[f] + r * ow + k] for r < lim[f] / 8, k < lim[f] % 8.
void wino4_out_tiles_avx512(const float* m, long ldxi, long T, const long* off, const long* lim, float* y, long ow);
// The input gradient as the forward's adjoint (m = 2: F(2x2, 3x3), 4: F(4x4, 3x3)), T tiles (a
// multiple of 16) along each row: dM = A dY A^T from dY_ab at yg[(a m + b) lds + t] to
// dm[xi ldxi + t], and dd = B dV B^T from dV_xi at dv[xi ldxi + t] to q[(a (m + 2) + b) ldq + t].
void wino_adj_gy_avx512(int m, const float* yg, long lds, long T, float* dm, long ldxi);
void wino_adj_in_avx512(int m, const float* dv, long ldxi, long T, float* q, long ldq);
// d[c * ldd + r] = s[r * lds + c] for r < rows, c < cols.
void wino_transpose_avx512(const float* s, long rows, long cols, long lds, float* d, long ldd);

}  // namespace gr
