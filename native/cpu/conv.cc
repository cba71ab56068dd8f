// Convolution kernels: im2col/col2im (the adjoint pair the composite convolution is built from) and
// the fused convolution trio used by the conv2d op: forward y = W @ im2col(x), input gradient
// col2im(W^T @ gy) and weight gradient sum_n gy[n] @ im2col(x)[n]^T (see src/ops/conv.ts).
//
// The fused kernels never materialize the whole batch's columns. Images go in chunks whose columns
// fit in L2 (a thread-local buffer); each chunk is im2col'ed, multiplied and, for the input
// gradient, col2im'ed before the next one, so the [N, C*kh*kw, oh*ow] matrix (up to 50x the image
// size) never travels through memory. With at least as many chunks as threads every thread takes
// whole chunks and runs the GEMM single-threaded; otherwise chunks run one after another with a
// threaded GEMM. A 1x1, stride-1, unpadded convolution reads the image as its own columns.
//
// Most layers skip the columns altogether and read the zero-padded image (split into stride phases)
// through a table of tap offsets: the implicit GEMM (pixels along the SIMD vector), the direct
// convolution (output channels along the vector) and the direct weight gradient (output channels
// of the transposed gradient along the vector); long weight gradients can also use dot-product
// tiles. Small output maps (3x3 and 1x1; 8x8 and 10x10 for some passes; strided layers up to
// 16x16) run as one pixel-major GEMM over the whole batch ("flat": the batch's output pixels are
// the GEMM's rows, read from a channels-last copy). Stride-1 layers with few input channels
// (C*kh*kw < 32: one to three for 3x3) run on direct row kernels (no GEMM): the input gradient, and for 3x3 and 5x5 kernels
// the forward and weight gradient too. `auto` picks per layer by geometry alone (conv2d_t,
// conv2d_backward_input_t, conv2d_backward_weight_t at the end of the file, and the *_ok rules
// they call); `setConvMode` forces one for tests and bench/native-conv.ts.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <cstdio>

#include "kernels.h"
#include "dtype_dispatch.h"

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace gr {
namespace {

// Copy n elements with 16-byte moves; the last move may overlap the previous one (rows here are
// short: ow is 3 to 30, where a library memcpy call or a vectorized loop's prologue dominates).
template <class T>
inline void copy_short(T* d, const T* s, long n) {
  constexpr long V = 16 / sizeof(T);
  if (n < V) {
    for (long i = 0; i < n; i++) d[i] = s[i];
    return;
  }
  long i = 0;
  for (; i + V <= n; i += V) std::memcpy(d + i, s + i, 16);
  if (i < n) std::memcpy(d + n - V, s + n - V, 16);
}

template <class T>
inline void add_short(T* d, const T* s, long n) {
  constexpr long V = 16 / sizeof(T);
  long i = 0;
  for (; i + V <= n; i += V)
    for (long k = 0; k < V; k++) d[i + k] += s[i + k];
  for (; i < n; i++) d[i] += s[i];
}

// Output columns x whose input column x*sw - pw + j lies inside [0, w).
inline void valid_cols(const Geom& g, long j, long& x0, long& x1) {
  long lo = g.pw - j;  // need x*sw >= lo
  x0 = lo <= 0 ? 0 : (lo + g.sw - 1) / g.sw;
  long hi = g.w + g.pw - j;  // need x*sw < hi
  x1 = hi <= 0 ? 0 : (hi + g.sw - 1) / g.sw;
  if (x1 > g.ow) x1 = g.ow;
  if (x0 > x1) x0 = x1;
}

// im2col of one plane (channel c of image n) into kh*kw rows of `ld` elements starting at `o`.
template <class T>
void im2col_plane(const T* plane, T* o0, const Geom& g, long ld) {
  for (long i = 0; i < g.kh; i++)
    for (long j = 0; j < g.kw; j++) {
      T* o = o0 + (i * g.kw + j) * ld;
      long x0, x1;
      valid_cols(g, j, x0, x1);
      for (long y = 0; y < g.oh; y++, o += g.ow) {
        const long hy = y * g.sh - g.ph + i;
        if (hy < 0 || hy >= g.h) {
          for (long xx = 0; xx < g.ow; xx++) o[xx] = T(0);
          continue;
        }
        const T* row = plane + hy * g.w - g.pw + j;
        for (long xx = 0; xx < x0; xx++) o[xx] = T(0);
        if (g.sw == 1)
          copy_short(o + x0, row + x0, x1 - x0);
        else
          for (long xx = x0; xx < x1; xx++) o[xx] = row[xx * g.sw];
        for (long xx = x1; xx < g.ow; xx++) o[xx] = T(0);
      }
    }
}

// The adjoint: plane = sum of the kh*kw rows at `o0` (stride `ld`) scattered back (plane zeroed first).
template <class T>
void col2im_plane(const T* o0, T* plane, const Geom& g, long ld) {
  std::memset(plane, 0, sizeof(T) * g.h * g.w);
  for (long i = 0; i < g.kh; i++)
    for (long j = 0; j < g.kw; j++) {
      const T* o = o0 + (i * g.kw + j) * ld;
      long x0, x1;
      valid_cols(g, j, x0, x1);
      for (long y = 0; y < g.oh; y++, o += g.ow) {
        const long hy = y * g.sh - g.ph + i;
        if (hy < 0 || hy >= g.h) continue;
        T* row = plane + hy * g.w - g.pw + j;
        if (g.sw == 1)
          add_short(row + x0, o + x0, x1 - x0);
        else
          for (long xx = x0; xx < x1; xx++) row[xx * g.sw] += o[xx];
      }
    }
}

template <class T>
void im2col_t(const T* x, T* out, const Geom& g) {
  const long L = g.oh * g.ow, khw = g.kh * g.kw;
  parallel_for(g.n * g.c, 1, [&](long b, long e) {
    for (long nc = b; nc < e; nc++) im2col_plane(x + nc * g.h * g.w, out + nc * khw * L, g, L);
  });
}

template <class T>
void col2im_t(const T* cols, T* out, const Geom& g) {
  const long L = g.oh * g.ow, khw = g.kh * g.kw;
  parallel_for(g.n * g.c, 1, [&](long b, long e) {
    for (long nc = b; nc < e; nc++) col2im_plane(cols + nc * khw * L, out + nc * g.h * g.w, g, L);
  });
}

// ---- fused convolution ----

// 0 auto, 1 always im2col, 2 implicit wherever it applies, 3 direct wherever it applies, 4 Winograd
// F(2x2, 3x3) wherever it applies (winograd.cc; auto elsewhere), 5 always the pixel-major batch GEMM,
// 6 Winograd F(4x4, 3x3) wherever it applies (auto elsewhere), 7 the polyphase input gradient of
// strided layers wherever it applies (the automatic rules elsewhere, Winograd aside);
// GRADREG_NATIVE_CONV=auto|im2col|implicit|direct|winograd|flat|winograd4|polyphase.
int g_conv_mode = [] {
  const char* e = std::getenv("GRADREG_NATIVE_CONV");
  if (e && !std::strcmp(e, "im2col")) return 1;
  if (e && !std::strcmp(e, "implicit")) return 2;
  if (e && !std::strcmp(e, "direct")) return 3;
  if (e && !std::strcmp(e, "winograd")) return 4;
  if (e && !std::strcmp(e, "flat")) return 5;
  if (e && !std::strcmp(e, "winograd4")) return 6;
  if (e && !std::strcmp(e, "polyphase")) return 7;
  return 0;
}();

// Whether a Winograd mode (4 or 6) forces it, and whether the automatic rules decide (auto, or a
// Winograd or polyphase mode outside their layers).
bool winograd_mode() { return g_conv_mode == 4 || g_conv_mode == 6; }
bool auto_rules() { return g_conv_mode == 0 || winograd_mode() || g_conv_mode == 7; }

// Thread-local column buffer (separate from the GEMM's packs).
thread_local Scratch tl_cols;

// Bytes of columns one chunk may hold: half of a 2 MiB L2, leaving room for the GEMM's packs.
long chunk_budget() {
  static const long b = [] {
    const char* e = std::getenv("GRADREG_NATIVE_CONV_CHUNK_KB");
    const long kb = e ? std::atol(e) : 0;
    return kb > 0 ? kb * 1024 : 1024L * 1024;
  }();
  return b;
}

// Split n images into chunks of at most `maxChunk`, their number a multiple of the thread count when
// there are more chunks than threads, so that every thread gets the same number.
void balanced_chunks(long n, long maxChunk, long& chunk, long& chunks) {
  chunks = (n + maxChunk - 1) / maxChunk;
  const long nt = num_threads();
  if (chunks > 1 && nt > 1) chunks = std::min(n, (chunks + nt - 1) / nt * nt);
  chunk = (n + chunks - 1) / chunks;
  chunks = (n + chunk - 1) / chunk;
}

struct Plan {
  long K, P, ld, O;  // rows and columns of one image's columns, their row stride, output channels
  long chunk, chunks;
  bool identity;     // 1x1, stride 1, no padding: the image is its own column matrix
  bool threadsOverChunks;
};

template <class T>
Plan plan_for(const Geom& g, long O) {
  Plan p{};
  p.O = O;
  p.K = g.c * g.kh * g.kw;
  p.P = g.oh * g.ow;
  p.identity = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  // Rows a multiple of 256 bytes apart map to few L1 sets when the micro-kernel walks down them.
  p.ld = !p.identity && (p.P * static_cast<long>(sizeof(T))) % 256 == 0 ? p.P + 64 / static_cast<long>(sizeof(T)) : p.P;
  const long perImage = std::max<long>(1, p.K * p.ld * static_cast<long>(sizeof(T)));
  balanced_chunks(std::max<long>(1, g.n), std::max<long>(1, chunk_budget() / perImage), p.chunk, p.chunks);
  p.threadsOverChunks = p.chunks >= num_threads() && num_threads() > 1;
  return p;
}

// Columns of images [n0, n0 + cn): the image itself for identity convs, else im2col into the buffer.
template <class T>
const T* chunk_cols(const T* x, const Geom& g, const Plan& p, long n0, long cn, bool parallel) {
  if (p.identity) return x + n0 * g.c * g.h * g.w;
  T* cols = tl_cols.get<T>(cn * p.K * p.ld);
  const long khw = g.kh * g.kw;
  auto planes = [&](long b, long e) {
    for (long qc = b; qc < e; qc++) {
      const long q = qc / g.c, c = qc - q * g.c;
      im2col_plane(x + ((n0 + q) * g.c + c) * g.h * g.w, cols + q * p.K * p.ld + c * khw * p.ld, g, p.ld);
    }
  };
  if (parallel) parallel_for(cn * g.c, 1, planes);
  else planes(0, cn * g.c);
  return cols;
}

// Run chunk(c0, parallelInside) for every chunk, threads over chunks or inside them.
template <class F>
void for_chunks(long chunks, bool threadsOverChunks, F&& chunk) {
  if (threadsOverChunks) {
    parallel_for(chunks, 1, [&](long b, long e) {
      for (long c = b; c < e; c++) chunk(c, false);
    });
  } else {
    for (long c = 0; c < chunks; c++) chunk(c, true);
  }
}

// The rows a chunk of images offers the dot-product tiles: row o of A at a + o * lda and row k of B
// at b + boff[k], both `len` long; image q of the chunk sa and sb elements further on.
struct NtRows {
  const float* a;
  long lda, sa;
  const float* b;
  const long* boff;
  long sb, len, nq;
};

// Float weight gradient by dot-product tiles: dW[o, k] = sum over images and pixels of A[o] B[k]
// (no packing: both operands are contiguous along the pixels, the reduction axis). A 4x4 tile of dW
// keeps its 16 SIMD sums in registers over every image of a chunk. Between chunks they live either
// as lane partials (16 vectors a tile, summed once at the end) while those fit in L2, or else as
// finished sums added into a plain [O, K] accumulator. One accumulator per part of the batch; the
// parts are added at the end. rows(c, parallel) readies chunk c (in the calling thread's buffers).
template <class Rows>
bool weight_grad_nt(long O, long K, long chunks, bool threadsOverChunks, float* dw, Rows&& rows) {
  int lanes = 0;
  const NtTileFn laneTile = nt_tile(&lanes), sumTile = nt_tile(&lanes, true);
  if (!laneTile) return false;
  const long tj = (K + 3) / 4, tiles = ((O + 3) / 4) * tj;
  const bool keepLanes = tiles * 16L * lanes * static_cast<long>(sizeof(float)) <= 512L * 1024;
  const long per = keepLanes ? 16L * lanes : 0, accLen = keepLanes ? tiles * per : O * K;
  // Two accumulators per thread (claimed dynamically, so a descheduled thread delays at most one).
  const long parts = threadsOverChunks ? std::min<long>(chunks, 2L * num_threads()) : 1;
  float* acc0 = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * (parts * accLen + 16)));
  std::memset(acc0, 0, sizeof(float) * parts * accLen);
  // Tiles are numbered column-block major (t = jb * ti + ib), so a run of them sweeps the row blocks
  // of A for each column block of B. Long rows are walked in blocks of PB pixels: A's block for every
  // row (about 24 KiB) then stays in L1 while the column blocks pass, instead of every tile streaming
  // whole rows of both operands from L2.
  const long ti = (O + 3) / 4;
  const long PB = std::clamp<long>(6144 / std::max<long>(O, 1) / 16 * 16, 64, 1024);
  auto rowsOf = [&](const NtRows& r, long t, long q, long pb, const float** ar, const float** br) {
    const long jb = t / ti, ib = t - jb * ti;
    for (int i = 0; i < 4; i++) ar[i] = r.a + q * r.sa + std::min(ib * 4 + i, O - 1) * r.lda + pb;
    for (int j = 0; j < 4; j++) br[j] = r.b + q * r.sb + r.boff[std::min(jb * 4 + j, K - 1)] + pb;
  };
  auto run = [&](const NtRows& r, float* acc, long t0, long t1) {
    alignas(64) float sums[16];
    const float *ar[4], *br[4];
    // Blocks shorter than 384 pixels (more than 16 rows of A) cost more in partial-sum traffic than
    // they save (measured: LeNet C1 and the ResNet stem gain 20-40%, 32-row layers lose).
    if (keepLanes && PB >= 384 && r.len >= 2 * PB) {
      for (long q = 0; q < r.nq; q++)
        for (long pb = 0; pb < r.len; pb += PB)
          for (long t = t0; t < t1; t++) {
            rowsOf(r, t, q, pb, ar, br);
            laneTile(std::min(PB, r.len - pb), 1, ar, 0, br, 0, acc + t * per);
          }
      return;
    }
    for (long t = t0; t < t1; t++) {
      rowsOf(r, t, 0, 0, ar, br);
      if (keepLanes) {
        laneTile(r.len, r.nq, ar, r.sa, br, r.sb, acc + t * per);
        continue;
      }
      sumTile(r.len, r.nq, ar, r.sa, br, r.sb, sums);
      const long jb = t / ti, ib = t - jb * ti;
      for (long i = 0; i < 4 && ib * 4 + i < O; i++)
        for (long j = 0; j < 4 && jb * 4 + j < K; j++) acc[(ib * 4 + i) * K + jb * 4 + j] += sums[i * 4 + j];
    }
  };
  if (threadsOverChunks) {
    parallel_for(parts, 1, [&](long b, long e) {
      for (long pt = b; pt < e; pt++)
        for (long c = chunks * pt / parts; c < chunks * (pt + 1) / parts; c++) run(rows(c, false), acc0 + pt * accLen, 0, tiles);
    });
  } else {
    for (long c = 0; c < chunks; c++) {
      const NtRows r = rows(c, true);
      parallel_for(tiles, 4, [&](long t0, long t1) { run(r, acc0, t0, t1); });
    }
  }
  // The final sums read parts x lanes values per output: threads split the output rows.
  parallel_for(O, 1, [&](long o0, long o1) {
    for (long o = o0; o < o1; o++)
      for (long k = 0; k < K; k++) {
        float s = 0;
        if (keepLanes) {
          const long off = ((k / 4) * ti + o / 4) * per + ((o % 4) * 4 + (k % 4)) * lanes;
          for (long pt = 0; pt < parts; pt++)
            for (int l = 0; l < lanes; l++) s += acc0[pt * accLen + off + l];
        } else {
          for (long pt = 0; pt < parts; pt++) s += acc0[pt * accLen + o * K + k];
        }
        dw[o * K + k] = s;
      }
  });
  std::free(acc0);
  return true;
}

bool conv2d_backward_weight_nt(const float* x, const float* gy, float* dw, const Geom& g, const Plan& p) {
  std::vector<long> boff(static_cast<size_t>(p.K));
  for (long k = 0; k < p.K; k++) boff[k] = k * p.ld;
  return weight_grad_nt(p.O, p.K, p.chunks, p.threadsOverChunks, dw, [&](long c, bool par) {
    const long n0 = c * p.chunk, cn = std::min(p.chunk, g.n - n0);
    const float* cols = chunk_cols(x, g, p, n0, cn, par);
    return NtRows{gy + n0 * p.O * p.P, p.P, p.O * p.P, cols, boff.data(), p.K * p.ld, p.P, cn};
  });
}

// ---- pixel-major GEMM over the batch ("flat") ----
//
// A small output map leaves the im2col chunks' GEMM a few columns per image (9 for a 3x3 map),
// fewer than a micro-tile: packing B and writing C then go run by run. Here the whole batch's
// output pixels are the GEMM's rows instead, image q's pixel p being row q*P + p of a column matrix
// cols [rows, K] whose K = C*kh*kw columns are ordered (i, j, c). Read from a zero-padded
// channels-last copy of the image, row (q, oy, ox) is then kh runs of kw*C contiguous values, one per
// kernel row i. With W'[o, (i, j, c)] = W[o, (c, i, j)] and gyT [rows, O] a transposed copy of gy:
//   forward       Y[rows, O] = cols @ W'^T, transposed into y [N, O, P];
//   input grad    dcols[rows, K] = gyT @ W', added back run by run into a zero-padded
//                 channels-last dx, then transposed and cropped into dx;
//   weight grad   dW'[O, K] = gyT^T @ cols, summed over the batch, then reordered into dW.
// In float the forward and input-gradient products skip the column matrix and the packing of A:
// the GEMM micro-kernel that reads A's rows through pointers (ukr_*_rows) takes row (q, oy, ox)'s
// kh runs straight from the channels-last image, or gyT's rows, against W' laid out once per call.
// The weight gradient (a reduction over the rows) and float64 build cols and call the packed GEMM.
// Threads take chunks of whole images (a chunk's buffers fit in L2) and run single-threaded
// products; with fewer chunks than threads the chunks run one after another, threaded inside. A
// 1x1 output map (LeNet C5) makes cols the batch's images themselves, one row each.

thread_local Scratch tl_img, tl_pix;

struct FlatPlan {
  long P, K, hp, wp, img;  // pixels per image, C*kh*kw, padded height and width, padded image size
  long chunk, chunks;
  bool threadsOverChunks;
};

template <class T>
FlatPlan flat_plan(const Geom& g, long O) {
  FlatPlan f{};
  f.P = g.oh * g.ow;
  f.K = g.c * g.kh * g.kw;
  f.hp = g.h + 2 * g.ph;
  f.wp = g.w + 2 * g.pw;
  f.img = f.hp * f.wp * g.c;
  const long perImage = (f.P * (f.K + O) + f.img) * static_cast<long>(sizeof(T));
  balanced_chunks(std::max<long>(1, g.n), std::max<long>(1, chunk_budget() / 2 / perImage), f.chunk, f.chunks);
  f.threadsOverChunks = f.chunks >= num_threads() && num_threads() > 1;
  return f;
}

#if defined(__SSE2__)
// d[j * ld + i] = s[i * ls + j] for a 4x4 block of floats.
inline void transpose4x4(const float* s, long ls, float* d, long ld) {
  __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + ls), r2 = _mm_loadu_ps(s + 2 * ls), r3 = _mm_loadu_ps(s + 3 * ls);
  _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
  _mm_storeu_ps(d, r0);
  _mm_storeu_ps(d + ld, r1);
  _mm_storeu_ps(d + 2 * ld, r2);
  _mm_storeu_ps(d + 3 * ld, r3);
}
#endif

// d[j * ld + i] = s[i * ls + j] for i < rows, j < cols (floats in 4x4 SSE blocks): every layout
// change of the flat path is one of these.
template <class T>
void transpose_to(const T* s, long ls, long rows, long cols, T* d, long ld) {
  long i = 0;
#if defined(__SSE2__)
  if constexpr (std::is_same_v<T, float>) {
    for (; i + 4 <= rows; i += 4) {
      long j = 0;
      for (; j + 4 <= cols; j += 4) {
        transpose4x4(s + i * ls + j, ls, d + j * ld + i, ld);
      }
      for (; j < cols; j++)
        for (long r = 0; r < 4; r++) d[j * ld + i + r] = s[(i + r) * ls + j];
    }
  }
#endif
  for (; i < rows; i++)
    for (long j = 0; j < cols; j++) d[j * ld + i] = s[i * ls + j];
}

// W'[o, (i, j, c)] = W[o, (c, i, j)].
template <class T>
std::vector<T> flat_weights(const T* w, const Geom& g, long O) {
  const long khw = g.kh * g.kw, K = g.c * khw;
  std::vector<T> wp(static_cast<size_t>(O * K));
  for (long o = 0; o < O; o++) transpose_to(w + o * K, khw, g.c, khw, wp.data() + o * K, g.c);
  return wp;
}

// The zero-padded channels-last copy xh [hp, wp, C] of one image x [C, h, w].
template <class T>
void to_channels_last(const T* x, T* xh, const Geom& g, const FlatPlan& f) {
  if (g.ph > 0 || g.pw > 0) std::memset(xh, 0, sizeof(T) * f.img);
  for (long y = 0; y < g.h; y++) transpose_to(x + y * g.w, g.h * g.w, g.c, g.w, xh + ((y + g.ph) * f.wp + g.pw) * g.c, g.c);
}

// Its adjoint: the unpadded part of xh back into x [C, h, w].
template <class T>
void from_channels_last(const T* xh, T* x, const Geom& g, const FlatPlan& f) {
  for (long y = 0; y < g.h; y++) transpose_to(xh + ((y + g.ph) * f.wp + g.pw) * g.c, g.c, g.w, g.c, x + y * g.w, g.h * g.w);
}

// Row r = (q, oy, ox) of cols: kernel row i's kw*C values start at this offset of the chunk's xh.
inline long flat_src(const Geom& g, const FlatPlan& f, long q, long oy, long ox, long i) {
  return q * f.img + ((oy * g.sh + i) * f.wp + ox * g.sw) * g.c;
}

template <class T>
void flat_cols(const T* xh, T* cols, const Geom& g, const FlatPlan& f, long q) {
  const long run = g.kw * g.c;
  for (long oy = 0; oy < g.oh; oy++)
    for (long ox = 0; ox < g.ow; ox++) {
      T* d = cols + (q * f.P + oy * g.ow + ox) * f.K;
      for (long i = 0; i < g.kh; i++) {
        const T* s = xh + flat_src(g, f, q, oy, ox, i);
        if (run >= 32) std::memcpy(d + i * run, s, sizeof(T) * run);
        else copy_short(d + i * run, s, run);
      }
    }
}

// gyT[q * P + p, o] = gy[q, o, p] for the chunk's images.
template <class T>
void flat_gy(const T* gy, T* gt, long O, long P, long q) {
  transpose_to(gy + q * O * P, P, O, P, gt + q * P * O, O);
}

// Run body(q) for q < cn, on the pool when `par`.
template <class F>
void each_image(long cn, bool par, F&& body) {
  auto run = [&](long b, long e) {
    for (long q = b; q < e; q++) body(q);
  };
  if (par) parallel_for(cn, 1, run);
  else run(0, cn);
}

// The GEMM micro-kernel reading A's row r at arows[r] (no packing of A).
struct RowsUkr {
  int mr = 0, nr = 0;
  void (*f)(long, const float* const*, const float*, long, float*, long, int) = nullptr;
};

RowsUkr rows_ukr() {
  const int isa = isa_active();
  if (isa == ISA_AVX512) return {8, 32, ukr_avx512_8x32_rows};
  if (isa == ISA_AVX2) return {6, 16, ukr_avx2_6x16_rows};
  return {};
}

// C[r, 0..Nr) = sum over runs u < nu of A_u[r] @ B[u*len .. (u+1)*len, 0..Nr) for the row strips
// [s0, s1) (MR rows each) of M rows, row r of A_u being the `len` floats at base(r) + u * ustride:
// the rows micro-kernel reads A where it lies (no column matrix, no packing). B has row stride Nr
// (a multiple of NR, zero past the real columns); C has M rounded up to MR rows of ldc floats.
template <class Base>
void rows_product(const RowsUkr& kr, long s0, long s1, long M, long Nr, long nu, long len, Base&& base, long ustride,
                  const float* B, float* C, long ldc) {
  const float* a[8];
  const float* rows[8];
  for (long s = s0; s < s1; s++) {
    const long i0 = s * kr.mr;
    for (int r = 0; r < kr.mr; r++) a[r] = base(std::min(i0 + r, M - 1));
    for (long jc = 0; jc < Nr; jc += kr.nr)
      for (long u = 0; u < nu; u++) {
        for (int r = 0; r < kr.mr; r++) rows[r] = a[r] + u * ustride;
        kr.f(len, rows, B + u * len * Nr + jc, Nr, C + i0 * ldc + jc, ldc, u > 0);
      }
  }
}

// rows_product over all strips of M rows, on the pool when `par`.
template <class Base>
void rows_product_all(const RowsUkr& kr, bool par, long M, long Nr, long nu, long len, Base&& base, long ustride,
                      const float* B, float* C, long ldc) {
  const long strips = (M + kr.mr - 1) / kr.mr;
  auto run = [&](long b, long e) { rows_product(kr, b, e, M, Nr, nu, len, base, ustride, B, C, ldc); };
  if (par) parallel_for(strips, 1, run);
  else run(0, strips);
}

// The float forward without the column matrix: row (q, oy, ox) of cols is kh runs of kw*C floats
// of the channels-last image, which the rows micro-kernel reads in place against W'^T [K, Or].
void flat_forward_rows(const float* x, const std::vector<float>& wp, float* y, const Geom& g, const FlatPlan& f, long O,
                       const RowsUkr& kr) {
  const long Or = (O + kr.nr - 1) / kr.nr * kr.nr, chw = g.c * g.h * g.w;
  std::vector<float> wt(static_cast<size_t>(f.K * Or), 0.f);
  transpose_to(wp.data(), f.K, O, f.K, wt.data(), Or);
  auto chunk = [&](long c, bool par) {
    const long n0 = c * f.chunk, cn = std::min(f.chunk, g.n - n0), rows = cn * f.P;
    float* xh = tl_img.get<float>(cn * f.img);
    float* out = tl_pix.get<float>((rows + kr.mr) * Or);
    each_image(cn, par, [&](long q) { to_channels_last(x + (n0 + q) * chw, xh + q * f.img, g, f); });
    auto base = [&](long r) {
      const long q = r / f.P, p = r - q * f.P, oy = p / g.ow;
      return xh + flat_src(g, f, q, oy, p - oy * g.ow, 0);
    };
    rows_product_all(kr, par, rows, Or, g.kh, g.kw * g.c, base, f.wp * g.c, wt.data(), out, Or);
    each_image(cn, par, [&](long q) { transpose_to(out + q * f.P * Or, Or, f.P, O, y + (n0 + q) * O * f.P, f.P); });
  };
  for_chunks(f.chunks, f.threadsOverChunks, chunk);
}

template <class T>
void flat_forward(const T* x, const T* w, T* y, const Geom& g, long O) {
  const FlatPlan f = flat_plan<T>(g, O);
  const std::vector<T> wp = flat_weights(w, g, O);
  const long chw = g.c * g.h * g.w;
  auto chunk = [&](long c, bool par) {
    const long n0 = c * f.chunk, cn = std::min(f.chunk, g.n - n0), rows = cn * f.P;
    T* xh = tl_img.get<T>(cn * f.img);
    T* cols = tl_cols.get<T>(rows * f.K);
    T* out = tl_pix.get<T>(rows * O);
    each_image(cn, par, [&](long q) {
      to_channels_last(x + (n0 + q) * chw, xh + q * f.img, g, f);
      flat_cols(xh, cols, g, f, q);
    });
    gemm<T>(rows, O, f.K, Operand<T>{cols, f.K, false, rows, 0}, Operand<T>{wp.data(), f.K, true, O, 0}, out,
            COut{O, rows, 0, O, 0}, par);
    each_image(cn, par, [&](long q) { transpose_to(out + q * f.P * O, O, f.P, O, y + (n0 + q) * O * f.P, f.P); });
  };
  if constexpr (std::is_same_v<T, float>) {
    if (const RowsUkr kr = rows_ukr(); kr.f) return flat_forward_rows(x, wp, y, g, f, O, kr);
  }
  for_chunks(f.chunks, f.threadsOverChunks, chunk);
}

template <class T>
void flat_backward_input(const T* gy, const T* w, T* dx, const Geom& g, long O) {
  const FlatPlan f = flat_plan<T>(g, O);
  const std::vector<T> wp = flat_weights(w, g, O);
  const long chw = g.c * g.h * g.w, run = g.kw * g.c;
  // Floats skip the packing: the rows micro-kernel reads gyT's rows in place against W' with its
  // rows padded to whole micro-tiles (ldk).
  RowsUkr kr{};
  if constexpr (std::is_same_v<T, float>) kr = rows_ukr();
  const long ldk = kr.f ? (f.K + kr.nr - 1) / kr.nr * kr.nr : f.K;
  std::vector<T> wpad;
  if (kr.f) {
    wpad.assign(static_cast<size_t>(O * ldk), T(0));
    for (long o = 0; o < O; o++) std::memcpy(wpad.data() + o * ldk, wp.data() + o * f.K, sizeof(T) * f.K);
  }
  auto chunk = [&](long c, bool par) {
    const long n0 = c * f.chunk, cn = std::min(f.chunk, g.n - n0), rows = cn * f.P;
    T* gt = tl_pix.get<T>(rows * O);
    T* dcols = tl_cols.get<T>((rows + 8) * ldk);
    T* dxh = tl_img.get<T>(cn * f.img);
    each_image(cn, par, [&](long q) { flat_gy(gy + n0 * O * f.P, gt, O, f.P, q); });
    if constexpr (std::is_same_v<T, float>) {
      if (kr.f)
        rows_product_all(kr, par, rows, ldk, 1, O, [&](long r) { return gt + r * O; }, 0, wpad.data(), dcols, ldk);
    }
    if (!kr.f)
      gemm<T>(rows, f.K, O, Operand<T>{gt, O, false, rows, 0}, Operand<T>{wp.data(), f.K, false, f.K, 0}, dcols,
              COut{f.K, rows, 0, f.K, 0}, par);
    each_image(cn, par, [&](long q) {
      T* xh = dxh + q * f.img;
      std::memset(xh, 0, sizeof(T) * f.img);
      for (long oy = 0; oy < g.oh; oy++)
        for (long ox = 0; ox < g.ow; ox++) {
          const T* s = dcols + (q * f.P + oy * g.ow + ox) * ldk;
          for (long i = 0; i < g.kh; i++) {
            T* d = dxh + flat_src(g, f, q, oy, ox, i);
            const T* si = s + i * run;
            for (long k = 0; k < run; k++) d[k] += si[k];
          }
        }
      from_channels_last(xh, dx + (n0 + q) * chw, g, f);
    });
  };
  for_chunks(f.chunks, f.threadsOverChunks, chunk);
}

template <class T>
void flat_backward_weight(const T* x, const T* gy, T* dw, const Geom& g, long O) {
  const FlatPlan f = flat_plan<T>(g, O);
  const long chw = g.c * g.h * g.w, OK = O * f.K, khw = g.kh * g.kw;
  // acc += dW' of chunk c (or = when `first`).
  auto chunk = [&](long c, T* acc, bool first, bool par) {
    const long n0 = c * f.chunk, cn = std::min(f.chunk, g.n - n0), rows = cn * f.P;
    T* xh = tl_img.get<T>(cn * f.img);
    T* cols = tl_cols.get<T>(rows * f.K);
    T* gt = tl_pix.get<T>(rows * O);
    each_image(cn, par, [&](long q) {
      to_channels_last(x + (n0 + q) * chw, xh + q * f.img, g, f);
      flat_cols(xh, cols, g, f, q);
      flat_gy(gy + n0 * O * f.P, gt, O, f.P, q);
    });
    gemm<T>(O, f.K, rows, Operand<T>{gt, O, true, O, 0}, Operand<T>{cols, f.K, false, f.K, 0}, acc,
            COut{f.K, O, 0, f.K, 0}, par, !first);
  };
  // Each part sums its chunks into its own dW'; the parts are added (in order) while reordering.
  const long parts = f.threadsOverChunks ? std::min<long>(f.chunks, 2L * num_threads()) : 1;
  std::vector<T> acc(static_cast<size_t>(parts * OK));
  if (f.threadsOverChunks)
    parallel_for(parts, 1, [&](long b, long e) {
      for (long pt = b; pt < e; pt++) {
        const long c0 = f.chunks * pt / parts, c1 = f.chunks * (pt + 1) / parts;
        for (long c = c0; c < c1; c++) chunk(c, acc.data() + pt * OK, c == c0, false);
      }
    });
  else
    for (long c = 0; c < f.chunks; c++) chunk(c, acc.data(), c == 0, true);
  parallel_for(O, 1, [&](long o0, long o1) {
    T* a = acc.data();
    for (long pt = 1; pt < parts; pt++)
      for (long i = o0 * f.K; i < o1 * f.K; i++) a[i] += a[pt * OK + i];
    for (long o = o0; o < o1; o++) transpose_to(a + o * f.K, g.c, khw, g.c, dw + o * f.K, khw);
  });
}

// ---- polyphase input gradient of a strided convolution ----
//
// dx[c, h, w] = sum over o, i, j with h = sh oy + i - ph and w = sw ox + j - pw (0 <= oy < oh,
// 0 <= ox < ow) of W[o, c, i, j] gy[o, oy, ox]. For the rows h = sh u + a of phase a (0 <= a < sh),
// tap i contributes iff i = a + ph (mod sh), from oy = u + d_i, d_i = (a + ph - i) / sh; the taps
// of a phase are i = i_0, i_0 + sh, ... with d falling by one each, so phase a's rows read nti(a)
// consecutive gy rows u + dmin(a) .. u + dmax(a) (columns likewise: tap j of column phase b reads
// ox = v + e_j, e_j = (b + pw - j) / sw). Each phase is therefore a STRIDE-1 correlation of gy with
// the sub-kernel of its taps (3x3 stride 2 padding 1: 1x1, 1x2, 2x1 and 2x2; no zero taps), and
// the phases interleave into dx. gy goes channels-last with zero borders (gyh [HP, WP, O], oy
// shifted by PT, ox by PL, so out-of-map rows read zeros), and row (q, u, v) of a phase's GEMM is
// nti runs of (ntj O) floats of gyh, one per gy row, read in place by the rows micro-kernel
// against B[(ti, tj, o), (b, c)] = W[o, c, i(ti), j(tj)]. The column phases of a row phase go
// through one GEMM over the union of their column offsets (zero where a phase lacks the tap: 3x3
// stride 2, 12 multiply-adds for 9) when C alone would fill under a micro-tile's NR columns, one GEMM
// each otherwise; their (b, c) columns are then sw C consecutive floats of dx channels-last.
// (Polyphase form of the transposed convolution: Vaidyanathan, Multirate Systems and Filter Banks,
// 1993, sec. 4.3, the polyphase identity X(z) = sum_a z^-a X_a(z^sh).)

struct PhaseTaps {
  long n = 0, dmin = 0;  // taps of the phase and the offset of the first (d_i = dmin + t)
  long tap[16];          // tap t's kernel index (i for d = dmin + t)
};

// Taps of phase a of stride s, kernel k, padding p: i = a + p - s d, 0 <= i < k.
PhaseTaps phase_taps(long a, long s, long k, long p) {
  PhaseTaps t;
  long dlo = 0, dhi = -1;
  for (long i = 0; i < k; i++)
    if (((a + p - i) % s + s) % s == 0) {
      const long d = (a + p - i) / s;  // exact
      if (dhi < dlo) dlo = dhi = d;
      dlo = std::min(dlo, d), dhi = std::max(dhi, d);
    }
  if (dhi < dlo) return t;
  t.n = dhi - dlo + 1, t.dmin = dlo;
  for (long d = dlo; d <= dhi; d++) t.tap[d - dlo] = a + p - s * d;
  return t;
}

// Whether the polyphase input gradient applies: float32 under a rows micro-kernel, a stride, taps
// per phase within PhaseTaps. Forced by mode 7; in auto for 3x3 stride-2 layers with padding 1 and
// at most 16 input channels (the 8 x 16 tiles: the pixel-major batch GEMM auto ran before rounds
// its 9 C columns up to 32s there). Measured, under load, alternating with that GEMM: ResNet layer2
// conv1 (16 channels) 71 vs 58 GFLOP/s at one thread (best of many calls), 127 vs 100 at two, 20.5
// vs 24.1 ms per step in the one-thread training-step profile (best of 6); layer3 conv1 (32
// channels, 8 x 32 tiles, the same multiply-adds as the GEMM) 95 vs 92 GFLOP/s alone but 16.4 vs
// 15.8 ms in the step, so it stays on the GEMM. GRADREG_NATIVE_POLYPHASE=0 (read at every call)
// keeps auto off it, to time what ran before.
bool polyphase_ok(const Geom& g, long O) {
  if (!rows_ukr().f || g.sh * g.sw == 1 || g.sh > 16 || g.kh > 16 * g.sh || g.kw > 16 * g.sw) return false;
  if (g.n <= 0 || g.c <= 0 || O <= 0 || g.oh <= 0 || g.ow <= 0) return false;
  if (g_conv_mode == 7) return true;
  if (g_conv_mode != 0) return false;
  const char* e = std::getenv("GRADREG_NATIVE_POLYPHASE");
  if (e && !std::strcmp(e, "0")) return false;
  return g.kh == 3 && g.kw == 3 && g.sh == 2 && g.sw == 2 && g.ph == 1 && g.pw == 1 && g.c <= 16 && g.n >= num_threads();
}

// transpose_to with the columns outermost: d's rows are written as sequential streams, four at a
// time. dx channels-last [h w, C] to [C, h w] with h w a multiple of 1024 puts transpose_to's C
// destination rows of one block in the same L1 set (measured: 17% of the ResNet layer2 conv1 input
// gradient's time at one thread, against 3% this way).
void transpose_cols_first(const float* s, long ls, long rows, long cols, float* d, long ld) {
  long j = 0;
#if defined(__SSE2__)
  for (; j + 4 <= cols; j += 4) {
    long i = 0;
    for (; i + 4 <= rows; i += 4) {
      transpose4x4(s + i * ls + j, ls, d + j * ld + i, ld);
    }
    for (; i < rows; i++)
      for (long c = j; c < j + 4; c++) d[c * ld + i] = s[i * ls + c];
  }
#endif
  for (; j < cols; j++)
    for (long i = 0; i < rows; i++) d[j * ld + i] = s[i * ls + j];
}

void polyphase_backward_input(const float* gy, const float* w, float* dx, const Geom& g, long O) {
  RowsUkr kr = rows_ukr();
  // 16 or fewer channels: the 8 x 16 tiles (AVX-512), each column phase on its own.
  if (kr.nr == 32 && g.c <= 16) kr = RowsUkr{8, 16, ukr_avx512_8x16_rows};
  const long C = g.c, HW = g.h * g.w, P = g.oh * g.ow;
  // Row phases; column groups (all column phases together, or one each).
  const bool together = C < kr.nr && g.sw * C <= 2 * kr.nr;
  struct Group {
    long b0, nb, emin, ne, nv, Nr;  // column phases b0 .. b0+nb-1, union offsets emin .., v count
    std::vector<float> B[16];       // per row phase
  };
  std::vector<PhaseTaps> rt(g.sh), ct(g.sw);
  for (long a = 0; a < g.sh; a++) rt[a] = phase_taps(a, g.sh, g.kh, g.ph);
  for (long b = 0; b < g.sw; b++) ct[b] = phase_taps(b, g.sw, g.kw, g.pw);
  std::vector<Group> groups;
  for (long b0 = 0; b0 < g.sw; b0 += together ? g.sw : 1) {
    Group G{};
    G.b0 = b0, G.nb = together ? g.sw : 1;
    long elo = 0, ehi = -1;
    for (long b = b0; b < b0 + G.nb; b++)
      if (ct[b].n) {
        const long lo = ct[b].dmin, hi = ct[b].dmin + ct[b].n - 1;
        if (ehi < elo) elo = lo, ehi = hi;
        elo = std::min(elo, lo), ehi = std::max(ehi, hi);
      }
    if (ehi < elo || b0 >= g.w) continue;  // no tap reaches these columns: they stay zero
    G.emin = elo, G.ne = ehi - elo + 1, G.nv = (g.w - b0 + g.sw - 1) / g.sw;
    G.Nr = (G.nb * C + kr.nr - 1) / kr.nr * kr.nr;
    groups.push_back(std::move(G));
  }
  // Borders of gyh: every row u + d and column v + e read must lie inside it.
  long PT = 0, PB = 0, PL = 0, PR = 0;
  for (long a = 0; a < g.sh; a++) {
    const long nu = (g.h - a + g.sh - 1) / g.sh;
    if (!rt[a].n || nu <= 0) continue;
    PT = std::max(PT, -rt[a].dmin);
    PB = std::max(PB, nu - 1 + rt[a].dmin + rt[a].n - 1 - (g.oh - 1));
  }
  for (const Group& G : groups) {
    PL = std::max(PL, -G.emin);
    PR = std::max(PR, G.nv - 1 + G.emin + G.ne - 1 - (g.ow - 1));
  }
  const long HP = PT + g.oh + PB, WP = PL + g.ow + PR, img = HP * WP * O;
  // Whether every pixel of dx is some phase's output (else dx channels-last starts zeroed).
  bool covered = static_cast<long>(groups.size()) * (together ? g.sw : 1) >= std::min(g.sw, g.w);
  for (long a = 0; a < std::min(g.sh, g.h); a++) covered = covered && rt[a].n > 0;
  for (long b = 0; b < std::min(g.sw, g.w); b++) covered = covered && ct[b].n > 0;
  // B[(ti, te, o), (bi, c)] for each group and row phase: rows past the real taps stay zero.
  for (Group& G : groups)
    for (long a = 0; a < g.sh; a++) {
      if (!rt[a].n) continue;
      std::vector<float>& B = G.B[a];
      B.assign(static_cast<size_t>(rt[a].n * G.ne * O * G.Nr), 0.f);
      for (long ti = 0; ti < rt[a].n; ti++)
        for (long bi = 0; bi < G.nb; bi++) {
          const PhaseTaps& c = ct[G.b0 + bi];
          for (long t = 0; t < c.n; t++) {
            const long te = c.dmin + t - G.emin, i = rt[a].tap[ti], j = c.tap[t];
            for (long o = 0; o < O; o++)
              for (long ch = 0; ch < C; ch++)
                B[((ti * G.ne + te) * O + o) * G.Nr + bi * C + ch] = w[((o * C + ch) * g.kh + i) * g.kw + j];
          }
        }
    }
  long maxRows = 0, maxNr = 0;
  for (const Group& G : groups) {
    maxNr = std::max(maxNr, G.Nr);
    for (long a = 0; a < g.sh; a++) maxRows = std::max(maxRows, ((g.h - a + g.sh - 1) / g.sh) * G.nv);
  }
  // Chunks of images: all three buffers of a chunk within the column budget.
  const long perImage = (img + HW * C + maxRows * maxNr) * static_cast<long>(sizeof(float));
  long chunk, chunks;
  balanced_chunks(g.n, std::max<long>(1, chunk_budget() / perImage), chunk, chunks);
  const bool threadsOverChunks = chunks >= num_threads() && num_threads() > 1;
  for_chunks(chunks, threadsOverChunks, [&](long cidx, bool par) {
    const long n0 = cidx * chunk, cn = std::min(chunk, g.n - n0);
    float* gyh = tl_img.get<float>(cn * img + 64);
    float* dxh = tl_cols.get<float>(cn * HW * C);
    float* out = tl_pix.get<float>((cn * maxRows + kr.mr) * maxNr);
    each_image(cn, par, [&](long q) {
      float* d = gyh + q * img;
      std::memset(d, 0, sizeof(float) * img);
      for (long oy = 0; oy < g.oh; oy++)
        transpose_to(gy + (n0 + q) * O * P + oy * g.ow, P, O, g.ow, d + ((oy + PT) * WP + PL) * O, O);
      if (!covered) std::memset(dxh + q * HW * C, 0, sizeof(float) * HW * C);
    });
    for (long a = 0; a < g.sh; a++) {
      const PhaseTaps& r = rt[a];
      const long nu = (g.h - a + g.sh - 1) / g.sh;
      if (!r.n || nu <= 0) continue;
      for (const Group& G : groups) {
        const long per = nu * G.nv, M = cn * per;
        auto base = [&](long row) {
          const long q = row / per, rem = row - q * per, u = rem / G.nv, v = rem - u * G.nv;
          return gyh + q * img + ((u + r.dmin + PT) * WP + v + G.emin + PL) * O;
        };
        rows_product_all(kr, par, M, G.Nr, r.n, G.ne * O, base, WP * O, G.B[a].data(), out, G.Nr);
        // Row (q, u, v)'s columns (bi, c) go to dx channels-last at (sh u + a, sw v + b0 + bi).
        each_image(cn, par, [&](long q) {
          for (long u = 0; u < nu; u++)
            for (long v = 0; v < G.nv; v++) {
              const long x0 = g.sw * v + G.b0, nb = std::min(G.nb, g.w - x0);
              std::memcpy(dxh + ((q * g.h + g.sh * u + a) * g.w + x0) * C, out + (q * per + u * G.nv + v) * G.Nr,
                          sizeof(float) * nb * C);
            }
        });
      }
    }
    each_image(cn, par, [&](long q) { transpose_cols_first(dxh + q * HW * C, C, HW, C, dx + (n0 + q) * C * HW, HW); });
  });
}

// ---- implicit GEMM ----
//
// With stride 1, column (c, i, j) of output pixel (oy, ox) is xpad[c, oy + i, ox + j] of the padded
// image (Hp x Wp). Computing the output on the padded width, at grid position p = oy * Wp + ox, makes
// it xpad_flat[koff(c, i, j) + p] with koff = c*Hp*Wp + i*Wp + j: every row of the im2col matrix is a
// contiguous run of the padded image. The micro-kernel reads its B rows there (no im2col), and the
// kw - 1 grid columns past ow per row are computed and dropped. The input gradient is the same
// convolution of gy padded by k - 1 - p with the flipped, transposed kernel; the weight gradient
// dots gy on the grid (zeros past ow) with those same runs of the padded image.
//
// A stride (sh, sw) becomes stride 1 by splitting the padded image into its sh x sw phases,
// X_ab[h, w] = xpad[sh h + a, sw w + b] (each Hq x Wq, Hq = ceil(Hp / sh)): tap (i, j) reads phase
// (i mod sh, j mod sw) at offset (i div sh, j div sw), so koff(c, i, j) = ((c sh + i mod sh) sw +
// j mod sw) Hq Wq + (i div sh) Wq + j div sw and the grid is oh x Wq. Forward and weight gradient
// take strides this way; the input gradient of a strided convolution stays on im2col.

struct OffUkr {
  int mr = 0, nr = 0;
  void (*f)(long, const float*, const float*, const long*, float*, long, int) = nullptr;
};

OffUkr off_ukr() {
  const int isa = isa_active();
  if (isa == ISA_AVX512) return {8, 32, ukr_avx512_8x32_off};
  if (isa == ISA_AVX2) return {6, 16, ukr_avx2_6x16_off};
  return {};
}

// Whether a convolution of geometry g (float) can run as implicit GEMM at all.
bool implicit_applies(const Geom& g) {
  if (g_conv_mode == 1 || g_conv_mode == 5 || !off_ukr().f) return false;
  if (g.ph > g.kh - 1 || g.pw > g.kw - 1) return false;
  return !(g.kh == 1 && g.kw == 1);  // a 1x1 conv reads the image (or a subsample) as its columns
}

// Width of the grid the implicit GEMM computes on: the padded width, or a phase's width.
long grid_width(const Geom& g) { return (g.w + 2 * g.pw + g.sw - 1) / g.sw; }

// Whether it should, in auto mode: its GEMM rounds `rows` up to the micro-kernel's rows and the grid
// (oh x Wp) up to its columns, where the im2col path's GEMM rounds `im2colRows` up and computes
// only real pixels. Writing and reading the im2col matrix costs about as much as the GEMM, so the
// implicit path may do up to twice that padded work (measured at the models' layer shapes with
// bench/native-kernels.ts), and a thread takes whole images.
bool implicit_ok(const Geom& g, long rows, long im2colRows) {
  if (!implicit_applies(g)) return false;
  if (g_conv_mode == 2) return true;
  if (g.n < num_threads()) return false;
  // A handful of taps (one input channel, 3x3) leaves each micro-tile call a few steps between its
  // accumulator stores (measured, best of many calls: small conv1, K = 9, 95 vs 130 GFLOP/s on
  // im2col chunks at 2 threads, 50 vs 66 at one; inside a training step at one thread the implicit
  // path was about 10% ahead, within the machine's noise there).
  if (g.c * g.kh * g.kw < 16) return false;
  const OffUkr kr = off_ukr();
  auto up = [](double v, int m) { return std::ceil(v / m) * m; };
  const double L = static_cast<double>(g.oh) * grid_width(g);
  const double rowWaste = (up(rows, kr.mr) / rows) / (up(im2colRows, kr.mr) / im2colRows);
  // A strided layer's phase split is a gather of its own, so it gets less room (measured: ResNet
  // layer2 conv1, grid 1.125x the output, gains 30%; layer3 conv1, 1.5x, loses 15%).
  return rowWaste * (up(L, kr.nr) / (g.oh * g.ow)) <= (g.sh * g.sw == 1 ? 2.0 : 1.25);
}

// The input gradient's geometry: a stride-1 convolution of gy padded by k - 1 - p, producing x's shape.
Geom transposed_geom(const Geom& g, long O) {
  return Geom{g.n, O, g.oh, g.ow, g.kh, g.kw, 1, 1, g.kh - 1 - g.ph, g.kw - 1 - g.pw, g.h, g.w};
}

// The weight gradient's dot-product tiles pay off on long rows only (as in the im2col path).
// Output pixels per image from which the weight gradient uses the dot-product tiles rather than a
// GEMM over packed, transposed columns (GRADREG_NATIVE_CONV_NT_PIXELS overrides, for tuning).
long nt_min_pixels() {
  static const long v = [] {
    const char* e = std::getenv("GRADREG_NATIVE_CONV_NT_PIXELS");
    return e ? std::atol(e) : 256L;
  }();
  return v;
}

bool implicit_weight_ok(const Geom& g, long O) {
  if (!implicit_applies(g)) return false;
  if (g_conv_mode == 2) return true;
  // Long rows, a grid not much longer than the output, and grid copies of gy and x (what the
  // implicit path writes) smaller than the im2col matrix it avoids (not so for one input channel).
  const long L = g.oh * grid_width(g), P = g.oh * g.ow;
  const long gridCopies = O * L + g.c * (g.h + 2 * g.ph) * (g.w + 2 * g.pw), im2colMatrix = g.c * g.kh * g.kw * P;
  return P >= nt_min_pixels() && L <= 1.5 * P && gridCopies < im2colMatrix;
}

struct Grid {
  long hq, wq, L, plane, slack, K;  // phase height and width, grid length, padded-image size
  std::vector<long> koff;
};

Grid grid_for(const Geom& g, int nr) {
  Grid r;
  r.hq = (g.h + 2 * g.ph + g.sh - 1) / g.sh;
  r.wq = grid_width(g);
  r.L = g.oh * r.wq;
  r.plane = g.c * g.sh * g.sw * r.hq * r.wq;
  r.slack = g.kw + nr + 16;  // reads run up to kw + nr - 3 past the last phase plane
  r.K = g.c * g.kh * g.kw;
  r.koff.resize(static_cast<size_t>(r.K));
  for (long c = 0; c < g.c; c++)
    for (long i = 0; i < g.kh; i++)
      for (long j = 0; j < g.kw; j++)
        r.koff[(c * g.kh + i) * g.kw + j] =
            ((c * g.sh + i % g.sh) * g.sw + j % g.sw) * r.hq * r.wq + (i / g.sh) * r.wq + j / g.sw;
  return r;
}

// The zero-padded image of one image of x, split into its phases (C x sh x sw planes of Hq x Wq),
// then `slack` zeros.
void pad_image(const float* x, float* xp, const Geom& g, const Grid& gr) {
  const long hw = gr.hq * gr.wq;
  for (long c = 0; c < g.c; c++)
    for (long a = 0; a < g.sh; a++)
      for (long b = 0; b < g.sw; b++) {
        float* d = xp + ((c * g.sh + a) * g.sw + b) * hw;
        for (long hq = 0; hq < gr.hq; hq++) {
          float* row = d + hq * gr.wq;
          const long h = hq * g.sh + a - g.ph;  // source row of x
          if (h < 0 || h >= g.h) {
            std::memset(row, 0, sizeof(float) * gr.wq);
            continue;
          }
          const float* src = x + (c * g.h + h) * g.w;
          if (g.sw == 1) {
            for (long j = 0; j < g.pw; j++) row[j] = 0.f;
            std::memcpy(row + g.pw, src, sizeof(float) * g.w);
            for (long j = g.pw + g.w; j < gr.wq; j++) row[j] = 0.f;
          } else {
            for (long wq = 0; wq < gr.wq; wq++) {
              const long w = wq * g.sw + b - g.pw;
              row[wq] = w >= 0 && w < g.w ? src[w] : 0.f;
            }
          }
        }
      }
  std::memset(xp + gr.plane, 0, sizeof(float) * gr.slack);
}

thread_local Scratch tl_pad, tl_grid;

// y [N, O, oh, ow] = conv(x, wmat [O, C*kh*kw]) by implicit GEMM, threads over images.
void implicit_forward(const float* x, const float* wmat, float* y, const Geom& g, long O) {
  const OffUkr kr = off_ukr();
  const Grid gr = grid_for(g, kr.nr);
  const long K = gr.K, Or = (O + kr.mr - 1) / kr.mr * kr.mr, Lr = (gr.L + kr.nr - 1) / kr.nr * kr.nr;
  // W packed in mr-row strips, k-major within a strip, rows past O zero.
  std::vector<float> ap(static_cast<size_t>(Or * K));
  for (long o = 0; o < Or; o++)
    for (long k = 0; k < K; k++) ap[((o / kr.mr) * K + k) * kr.mr + o % kr.mr] = o < O ? wmat[o * K + k] : 0.f;
  const long kBlocks = (K + 255) / 256, kcMax = (K + kBlocks - 1) / kBlocks;
  parallel_for(g.n, 1, [&](long b, long e) {
    float* xp = tl_pad.get<float>(gr.plane + gr.slack);
    float* yb = tl_grid.get<float>(Or * Lr);
    for (long n = b; n < e; n++) {
      pad_image(x + n * g.c * g.h * g.w, xp, g, gr);
      for (long pc = 0; pc < K; pc += kcMax) {
        const long kc = std::min(kcMax, K - pc);
        for (long jr = 0; jr < gr.L; jr += kr.nr)
          for (long ir = 0; ir < Or; ir += kr.mr)
            kr.f(kc, ap.data() + ir * K + pc * kr.mr, xp + jr, gr.koff.data() + pc, yb + ir * Lr + jr, Lr, pc > 0);
      }
      for (long o = 0; o < O; o++)
        for (long oy = 0; oy < g.oh; oy++)
          std::memcpy(y + ((n * O + o) * g.oh + oy) * g.ow, yb + o * Lr + oy * gr.wq, sizeof(float) * g.ow);
    }
  });
}

// ---- direct convolution: pixels x output channels ----
//
// The same padded (phase-split) image and koff table, with the operands' roles swapped: the
// micro-kernel broadcasts MR consecutive grid pixels, read at xpad + koff[k] + p (the A values of
// step k), against NR output channels of the packed, transposed weights (B, rows of O). A tile is MR
// pixels of one output row, so no grid column past ow is computed (beyond rounding ow up to MR)
// however small the map: on 8x8 and 16x16 maps with 32 or more channels this beats the
// pixel-vectorized implicit GEMM, whose 32-pixel strips run over the padding columns.

struct AoffUkr {
  int mr = 0, nr = 0;
  void (*f)(long, const float*, const long*, const float*, long, float*, long, int) = nullptr;
};

AoffUkr aoff_ukr() {
  const int isa = isa_active();
  if (isa == ISA_AVX512) return {8, 32, ukr_avx512_8x32_aoff};
  if (isa == ISA_AVX2) return {6, 16, ukr_avx2_6x16_aoff};
  return {};
}

// Work done per useful multiply-add, rounding included: direct rounds the output channels up to NR
// and each output row up to MR pixels; implicit rounds the channels up to its MR and computes the
// whole oh x Wq grid rounded up to its NR.
double direct_waste(const Geom& g, long rows) {
  const AoffUkr kr = aoff_ukr();
  auto up = [](double v, int m) { return std::ceil(v / m) * m; };
  return (up(rows, kr.nr) / rows) * (up(g.ow, kr.mr) / g.ow);
}
double implicit_waste(const Geom& g, long rows) {
  const OffUkr kr = off_ukr();
  auto up = [](double v, int m) { return std::ceil(v / m) * m; };
  return (up(rows, kr.mr) / rows) * (up(static_cast<double>(g.oh) * grid_width(g), kr.nr) / (g.oh * g.ow));
}

// Whether a convolution of geometry g with `rows` output channels runs as direct convolution: forced
// (mode 3) wherever the padded-image path applies, or in auto mode for stride-1 layers where it
// rounds up less work than the implicit GEMM (ties go to implicit; measured with bench/native-conv.ts:
// ResNet layer3 conv2, 8x8 with 64 channels, 143 vs 109 GFLOP/s forward, 141 vs 110 input gradient).
bool direct_ok(const Geom& g, long rows) {
  if (!aoff_ukr().f || !implicit_applies(g)) return false;
  if (g_conv_mode == 3) return true;
  if (!auto_rules() || g.n < num_threads()) return false;
  // Strided layers split into phases by a scalar gather, which the direct tiles do not win back
  // (measured: ResNet layer3 conv1 104 vs 114 GFLOP/s on im2col).
  if (g.sh != 1 || g.sw != 1) return false;
  return direct_waste(g, rows) < implicit_waste(g, rows) && direct_waste(g, rows) <= 1.25;
}

// y [N, O, oh, ow] = conv(x, wmat [O, C*kh*kw]) by direct convolution, threads over images.
void direct_forward(const float* x, const float* wmat, float* y, const Geom& g, long O) {
  const AoffUkr kr = aoff_ukr();
  const Grid gr = grid_for(g, std::max(kr.mr, kr.nr));
  const long K = gr.K, Or = (O + kr.nr - 1) / kr.nr * kr.nr, mn = static_cast<long>(kr.mr) * kr.nr;
  // W^T packed: row k holds the Or output channels' weights of column k (zero past O).
  std::vector<float> wt(static_cast<size_t>(K * Or), 0.f);
  for (long o = 0; o < O; o++)
    for (long k = 0; k < K; k++) wt[k * Or + o] = wmat[o * K + k];
  const long kBlocks = (K + 255) / 256, kcMax = (K + kBlocks - 1) / kBlocks;
  const long perRow = (g.ow + kr.mr - 1) / kr.mr, tiles = g.oh * perRow;
  parallel_for(g.n, 1, [&](long b, long e) {
    float* xp = tl_pad.get<float>(gr.plane + gr.slack);
    float* acc = tl_grid.get<float>(tiles * mn);
    for (long n = b; n < e; n++) {
      pad_image(x + n * g.c * g.h * g.w, xp, g, gr);
      for (long jc = 0; jc < Or; jc += kr.nr) {
        for (long pc = 0; pc < K; pc += kcMax) {
          const long kc = std::min(kcMax, K - pc);
          for (long t = 0; t < tiles; t++) {
            const long oy = t / perRow, ox0 = (t - oy * perRow) * kr.mr;
            kr.f(kc, xp + oy * gr.wq + ox0, gr.koff.data() + pc, wt.data() + pc * Or + jc, Or, acc + t * mn, kr.nr, pc > 0);
          }
        }
        // acc holds [tile][pixel][channel]: write each channel's rows of y.
        for (long q = 0; q < kr.nr && jc + q < O; q++) {
          float* yo = y + (n * O + jc + q) * g.oh * g.ow;
          for (long t = 0; t < tiles; t++) {
            const long oy = t / perRow, ox0 = (t - oy * perRow) * kr.mr;
            const float* a = acc + t * mn + q;
            for (long r = 0; r < kr.mr && ox0 + r < g.ow; r++) yo[oy * g.ow + ox0 + r] = a[r * kr.nr];
          }
        }
      }
    }
  });
}

// The weight gradient the same way round: dW^T[k, o] = sum over grid positions p of
// xpad[koff[k] + p] * gyT[p, o], MR taps (rows of the padded image) broadcast against NR output
// channels of gy transposed onto the grid (zero past ow). A GEMM micro-kernel with no packing of
// either operand beyond that transpose, unlike the dot-product tiles, which load both operands as
// vectors. Threads take images; each part keeps its own [K, O] sums, added at the end.
bool direct_weight_ok(const Geom& g, long O) {
  const RowsUkr kr = rows_ukr();
  if (!kr.f || !implicit_applies(g)) return false;
  if (g_conv_mode == 3) return true;
  if (!auto_rules() || g.n < num_threads()) return false;
  // Whole channel blocks; half blocks only where the alternative is the packed GEMM of short rows
  // (measured: LeNet C3, 16 channels on 10x10, 89 vs 63 GFLOP/s; ResNet layer1, 16 channels on 32x32,
  // 86 against the dot-product tiles' 136; layer3 conv2 179 vs 114, layer2 conv1 114 vs 67).
  const bool blocks = O % kr.nr == 0 || (2 * O >= kr.nr && g.oh * g.ow < nt_min_pixels());
  // Taps go MR at a time: few of them round up badly (small conv1, 9 taps as 16: 36 vs 102 GFLOP/s
  // on the im2col path's dot-product tiles at 2 threads).
  const long K = g.c * g.kh * g.kw;
  return blocks && (K + kr.mr - 1) / kr.mr * kr.mr <= 1.25 * K && g.oh * grid_width(g) <= 1.5 * g.oh * g.ow;
}

void direct_backward_weight(const float* x, const float* gy, float* dw, const Geom& g, long O) {
  const RowsUkr kr = rows_ukr();
  const Grid gr = grid_for(g, 32);
  const long K = gr.K, Or = (O + kr.nr - 1) / kr.nr * kr.nr, Kr = (K + kr.mr - 1) / kr.mr * kr.mr, L = gr.L;
  const long PB = 256;  // grid positions per block: gyT's block for NR channels stays in L1
  const long parts = std::min<long>(g.n, 2L * num_threads());
  std::vector<float> acc(static_cast<size_t>(parts * Kr * Or), 0.f);
  parallel_for(parts, 1, [&](long b, long e) {
    float* xp = tl_pad.get<float>(gr.plane + gr.slack);
    float* gt = tl_grid.get<float>(L * Or);
    for (long part = b; part < e; part++) {
      float* C = acc.data() + part * Kr * Or;
      for (long n = g.n * part / parts; n < g.n * (part + 1) / parts; n++) {
        pad_image(x + n * g.c * g.h * g.w, xp, g, gr);
        // gyT[p][o]: gy of image n on the grid, pixel-major, zero past ow and past O.
        std::memset(gt, 0, sizeof(float) * L * Or);
        for (long o = 0; o < O; o++) {
          const float* src = gy + (n * O + o) * g.oh * g.ow;
          for (long oy = 0; oy < g.oh; oy++)
            for (long ox = 0; ox < g.ow; ox++) gt[(oy * gr.wq + ox) * Or + o] = src[oy * g.ow + ox];
        }
        for (long p0 = 0; p0 < L; p0 += PB) {
          const long len = std::min(PB, L - p0);
          for (long jc = 0; jc < Or; jc += kr.nr)
            for (long kb = 0; kb < Kr; kb += kr.mr) {
              const float* rows[8];
              for (int r = 0; r < kr.mr; r++) rows[r] = xp + gr.koff[std::min(kb + r, K - 1)] + p0;
              kr.f(len, rows, gt + p0 * Or + jc, Or, C + kb * Or + jc, Or, 1);
            }
        }
      }
    }
  });
  parallel_for(O, 1, [&](long o0, long o1) {
    for (long o = o0; o < o1; o++)
      for (long k = 0; k < K; k++) {
        float s = 0;
        for (long part = 0; part < parts; part++) s += acc[(part * Kr + k) * Or + o];
        dw[o * K + k] = s;
      }
  });
}

// ---- direct input gradient by rows ----
//
// With one or three input channels the input gradient's GEMM (dcols = W^T gy, C*kh*kw rows) is
// shorter than a micro-tile and its col2im moves more memory than the flops need; the transposed
// geometry's padded paths compute C output channels on tiles of 8 or 32 (small conv1 dx: 74 GFLOP/s
// on im2col chunks, 18 implicit, 5 direct, at 2 threads). conv_dx_rows_avx512 (gemm_avx512.cc)
// computes dx rows straight from gy, 32 pixels of a row along two vectors, threads over images
// (measured, GFLOP/s against the best other path: small conv1 103-124 vs 74 at 2 threads, 53 vs 30
// at one; at one thread LeNet C1 78 vs 24 and the ResNet stem 81 vs 47, both im2col chunks). A 1x1
// kernel reads gy as its own columns (no col2im), so the GEMM wins from 6 input channels on (2
// threads, batch 50, ms rows vs GEMM, 32 output channels on 16x16: 4 channels 0.050 vs 0.057, 6
// channels 0.073 vs 0.062, 8 channels 0.094 vs 0.036, 16 channels 0.180 vs 0.066; 16 to 64
// channels on 8x8 0.170 vs 0.035; 4 channels to 64 on 32x32 0.28 vs 0.36): auto keeps the rows
// for 1x1 kernels below that, the forced direct mode everywhere.
bool dx_rows_ok(const Geom& g) {
  if (isa_active() != ISA_AVX512 || g.sh != 1 || g.sw != 1) return false;
  if (!auto_rules() && g_conv_mode != 3) return false;
  if (g_conv_mode != 3 && g.kh * g.kw == 1 && g.c >= 6) return false;
  const bool kh = g.kh <= 5 || g.kh == 7;  // the kernel heights conv_dx_rows_avx512 has instances for
  return kh && g.c * g.kh * g.kw < 32;
}

void dx_rows(const float* gy, const float* w, float* dx, const Geom& g, long O) {
  const long d[10] = {O, g.c, g.h, g.w, g.oh, g.ow, g.kh, g.kw, g.ph, g.pw}, khw = g.kh * g.kw;
  // wt[c, i, j, o] = w[o, c, i, j]: the kernel's loop over o reads it contiguously.
  std::vector<float> wt(static_cast<size_t>(g.c * khw * O));
  for (long o = 0; o < O; o++)
    for (long k = 0; k < g.c * khw; k++) wt[k * O + o] = w[o * g.c * khw + k];
  parallel_for(g.n, 1, [&](long b, long e) {
    for (long n = b; n < e; n++) conv_dx_rows_avx512(gy + n * O * g.oh * g.ow, wt.data(), dx + n * g.c * g.h * g.w, d);
  });
}

// And the forward: conv_fwd_rows_avx512 keeps output rows of a block of output channels in
// registers while the shifted image rows pass (each loaded once per column tap), threads over
// images. 3x3 and 5x5 kernels. Measured (GFLOP/s, one thread, best of many calls, against what
// auto ran before): small conv1 73 vs 66 (im2col chunks), ResNet stem 97 vs 78 and LeNet C1 63 vs
// 56 (implicit). The forward and the weight gradient by rows take the same layers.
bool rows_kernels_ok(const Geom& g) {
  if (isa_active() != ISA_AVX512 || g.sh != 1 || g.sw != 1) return false;
  if (!auto_rules() && g_conv_mode != 3) return false;
  const bool k = (g.kh == 3 && g.kw == 3) || (g.kh == 5 && g.kw == 5);  // the instances it has
  return k && g.c * g.kh * g.kw < 32;
}

void fwd_rows(const float* x, const float* w, float* y, const Geom& g, long O) {
  const long d[8] = {O, g.c, g.h, g.w, g.oh, g.ow, g.ph, g.pw}, K = g.c * g.kh * g.kw;
  std::vector<float> wt(static_cast<size_t>(K * O));
  transpose_to(w, K, O, K, wt.data(), O);  // wt[(c, i, j), o] = w[o, (c, i, j)]
  parallel_for(g.n, 1, [&](long b, long e) {
    for (long n = b; n < e; n++)
      conv_fwd_rows_avx512(x + n * g.c * g.h * g.w, wt.data(), y + n * O * g.oh * g.ow, g.kh, g.kw, d);
  });
}

// The weight gradient of the same layers by rows: conv_dw_rows_avx512 (gemm_avx512.cc) keeps a block
// of output channels' kh*kw sums in registers while the rows of gy and of the shifted image pass,
// threads over images, each part with its own lane partials (summed in a fixed order at the end).
// 3x3 and 5x5 kernels. Measured (GFLOP/s, one thread, machine shared, against what auto ran
// before): small conv1 77 vs 53 (im2col dot-product tiles; 18 on the direct weight gradient auto
// took at session start), ResNet stem 100 vs 58 and LeNet C1 54 vs 47 (implicit). The layers:
// rows_kernels_ok, as for the forward.
void dw_rows(const float* x, const float* gy, float* dw, const Geom& g, long O) {
  const long d[8] = {O, g.c, g.h, g.w, g.oh, g.ow, g.ph, g.pw}, W = O * g.c * g.kh * g.kw;
  const long parts = std::min<long>(g.n, 2L * num_threads());
  std::vector<float> lanes(static_cast<size_t>(parts * W * 16), 0.f);
  parallel_for(parts, 1, [&](long b, long e) {
    for (long pt = b; pt < e; pt++)
      for (long n = g.n * pt / parts; n < g.n * (pt + 1) / parts; n++)
        conv_dw_rows_avx512(x + n * g.c * g.h * g.w, gy + n * O * g.oh * g.ow, lanes.data() + pt * W * 16, g.kh, g.kw, d);
  });
  for (long k = 0; k < W; k++) {
    float s = 0;
    for (long pt = 0; pt < parts; pt++)
      for (int l = 0; l < 16; l++) s += lanes[(pt * W + k) * 16 + l];
    dw[k] = s;
  }
}

// The padded-image forward: direct or implicit, whichever direct_ok picks.
void padded_forward(const float* x, const float* wmat, float* y, const Geom& g, long O) {
  if (direct_ok(g, O)) direct_forward(x, wmat, y, g, O);
  else implicit_forward(x, wmat, y, g, O);
}

// dx = the stride-1 convolution of gy padded by k - 1 - p with W'[c, o, i, j] = W[o, c, kh-1-i, kw-1-j].
void implicit_backward_input(const float* gy, const float* w, float* dx, const Geom& g, long O) {
  const long khw = g.kh * g.kw;
  std::vector<float> wt(static_cast<size_t>(g.c * O * khw));
  for (long o = 0; o < O; o++)
    for (long c = 0; c < g.c; c++)
      for (long t = 0; t < khw; t++) wt[(c * O + o) * khw + (khw - 1 - t)] = w[(o * g.c + c) * khw + t];
  padded_forward(gy, wt.data(), dx, transposed_geom(g, O), g.c);
}

// dW[o, k] = sum over images and grid positions of gy_grid[o, p] * xpad[koff[k] + p].
bool implicit_backward_weight(const float* x, const float* gy, float* dw, const Geom& g, long O) {
  const Grid gr = grid_for(g, 32);
  const long sx = gr.plane + gr.slack, sg = O * gr.L;
  const long perImage = (sx + sg) * static_cast<long>(sizeof(float));
  long chunk = 1, chunks = 1;
  balanced_chunks(g.n, std::max<long>(1, chunk_budget() / perImage), chunk, chunks);
  const bool threadsOverChunks = chunks >= num_threads() && num_threads() > 1;
  return weight_grad_nt(O, gr.K, chunks, threadsOverChunks, dw, [&](long c, bool par) {
    const long n0 = c * chunk, cn = std::min(chunk, g.n - n0);
    float* xp = tl_pad.get<float>(cn * sx);
    float* gg = tl_grid.get<float>(cn * sg);
    auto prep = [&](long b, long e) {
      for (long q = b; q < e; q++) {
        pad_image(x + (n0 + q) * g.c * g.h * g.w, xp + q * sx, g, gr);
        for (long o = 0; o < O; o++) {
          float* d = gg + q * sg + o * gr.L;
          const float* s = gy + ((n0 + q) * O + o) * g.oh * g.ow;
          for (long oy = 0; oy < g.oh; oy++) {
            std::memcpy(d + oy * gr.wq, s + oy * g.ow, sizeof(float) * g.ow);
            for (long ox = g.ow; ox < gr.wq; ox++) d[oy * gr.wq + ox] = 0.f;
          }
        }
      }
    };
    if (par) parallel_for(cn, 1, prep);
    else prep(0, cn);
    return NtRows{gg, gr.L, sg, xp, gr.koff.data(), sx, gr.L, cn};
  });
}

// Whether the pixel-major batch GEMM runs: forced (mode 5), or in auto mode for small output maps,
// and for strided layers up to 16x16 (the padded-image paths split those into phases or fall back
// to im2col). Measured with bench/native-conv.ts (GFLOP/s, one thread, machine shared, forward /
// input / weight gradient, flat against what auto ran before): small conv3 (3x3 map) 95/89/96 vs
// 42/35/44 (im2col chunks); LeNet C5 (1x1) 52/59/64 vs 24/24/11 on im2col chunks (27/28/30 at 2
// threads for the one-GEMM form this path replaces); ResNet layer3 conv1 (8x8, stride 2) 98/89/93
// vs 72/70/68; layer2 conv1 (16x16, stride 2) 87/55/69 vs 57/55/55; layer3 conv2 (8x8) forward 108
// vs 98 and weight gradient 102 vs 81 over the direct paths (Winograd, ahead of both, takes that
// layer: winograd_first); LeNet C3 (10x10) gradients 55/60 vs 31/40, but its forward stays
// implicit (64 vs 49). Not with fewer
// than 32 columns (one or three input channels): the GEMM's inner dimension is then too short for
// the transposes around it (small conv1 23/13/19 flat vs 30/30/40 on im2col chunks).
enum class Pass { Forward, Input, Weight };

// The L3's size from sysfs ("32768K"), 32 MiB when it does not say. (sysconf's
// _SC_LEVEL3_CACHE_SIZE comes from CPUID, which a virtual machine can report as the host's: 320 MiB
// on the 32 MiB Zen 4 guest these rules were measured on.)
long l3_bytes() {
  static const long b = [] {
    long v = 0;
    if (FILE* f = std::fopen("/sys/devices/system/cpu/cpu0/cache/index3/size", "r")) {
      char unit = 0;
      if (std::fscanf(f, "%ld%c", &v, &unit) >= 1) v *= unit == 'K' ? 1024 : unit == 'M' ? 1024 * 1024 : 1;
      std::fclose(f);
    }
    return v > 0 ? v : 32L << 20;
  }();
  return b;
}
//
// A 1x1 stride-1 unpadded layer reads its image as its own columns (no im2col: Plan::identity), so
// the transposes around the pixel-major GEMM only pay on small maps with few channels (batch 50, 2
// threads, ms identity vs flat, forward / input / weight gradient: 64 to 256 on 8x8 0.51 / 0.49 /
// 0.57 vs 0.73 / 0.79 / 0.85; 64 to 64 on 8x8 0.126 / 0.127 / 0.184 vs 0.169 / 0.191 / 0.237; 256
// to 256 on 6x6 1.24 / 1.22 / 1.15 vs 1.46 / 1.48 / 1.64; but 64 to 128 on 4x4 0.138 / 0.118 /
// 0.156 vs 0.107 / 0.089 / 0.087, on 6x6 0.244 / 0.221 / 0.348 vs 0.221 / 0.216 / 0.237, and the
// weight gradient of 32 to 64 on 8x8 0.156 vs 0.110): flat there only below 49 pixels or a weight
// gradient of fewer than 4096 weights, and never from 16384 weights on.
bool flat_ok(const Geom& g, Pass pass, long O) {
  if (g_conv_mode == 5) return true;
  if (!auto_rules()) return false;
  const long P = g.oh * g.ow, K = g.c * g.kh * g.kw;
  if (g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0 && P > 1) {
    const long weights = g.c * O;
    if (weights >= 16384) return false;
    if (P >= 49 && !(pass == Pass::Weight && weights < 4096)) return false;
  }
  // A strided 1x1 layer whose input fills most of the L3 (the ResNet's layer2 projection, 16 to 32
  // channels from 32x32, at the batched vjp's 500 images: 33 MB) streams it once through the
  // channels-last copy, where the other paths' strided reads come back from DRAM (2 threads, ms flat
  // vs auto before, forward / weight gradient: 500 images 3.21 / 3.40 vs 4.05 / 6.03; 200 images,
  // 13 MB, 1.17 / 1.22 vs 1.16 / 1.46; 50 images 0.196 / 0.214 vs 0.145 / 0.169; the layer3
  // projection at 500 images, 16 MB, 2.37 / 2.61 vs 1.57 / 2.49). Not its input gradient (6.19 vs
  // 2.52 ms), and only under 32 input channels: with more the other paths stay ahead on large
  // inputs too (64 to 128 from 56x56 at batch 50, 40 MB: 7.18 / 8.07 vs 5.52 / 7.04; 32 to 64 from
  // 32x32 at batch 200: 4.51 / 4.62 vs 3.68 / 4.25; 256 to 512 from 28x28: a tie).
  if (pass != Pass::Input && g.kh == 1 && g.kw == 1 && g.sh * g.sw > 1 && g.c < 32 &&
      g.n * g.c * g.h * g.w * static_cast<long>(sizeof(float)) >= l3_bytes() / 4 * 3)
    return true;
  // Strided 1x1 layers (projection shortcuts) likewise keep the other paths beyond the smallest
  // maps (batch 50 unless noted, 2 threads, ms flat vs the next rule's path, forward / input /
  // weight gradient: 32 to 64 channels from 16x16 0.177 / 0.175 / 0.175 vs 0.127 / 0.133 / 0.239,
  // the same at batch 500 2.56 / 2.42 / 2.71 vs 1.59 / 1.36 / 2.36; from 32x32 0.98 / 1.41 / 1.08 vs
  // 0.65 / 0.41 / 0.80; 48 to 96 from 16x16 0.304 / 0.408 / 0.455 vs 0.245 / 0.253 / 0.422; but 128
  // to 256 from 8x8, 16 pixels out, 0.403 / 0.374 / 0.446 vs 0.540 / 0.541 / 0.485): flat only up to
  // 16 output pixels, or for a weight gradient of at most 3200 rows.
  if (g.kh == 1 && g.kw == 1 && g.ph == 0 && g.pw == 0 && g.sh * g.sw > 1 && P > 16 &&
      !(pass == Pass::Weight && g.n * P <= 3200))
    return false;
  if (P == 1) return true;
  if (K < 32) return false;
  // The weight gradient of 5x5 and 7x7 layers of 32 or more channels on larger maps too (batch 50,
  // 2 threads, ms auto before vs flat: 32 to 64 channels 5x5 on 16x16 8.48 vs 7.65, on 12x12 5.20
  // vs 4.69; 64 to 64 5x5 unpadded on 16x16 9.67 vs 7.75; 32 to 32 7x7 on 16x16 8.48 vs 7.09; at
  // batch 20 on 28x28 9.03 vs 8.77, 64 to 64 5x5 on 28x28 17.96 vs 16.66; 16 channels stay: 2.21 vs
  // 2.31; on 32x32 the direct weight gradient is ahead again: 128 channels 5x5 53.3 vs 56.4, 32
  // channels 7x7 11.3 vs 11.5).
  if (pass == Pass::Weight && g.kh * g.kw >= 25 && g.c >= 32 && P <= 784) return true;
  if (g.sh * g.sw > 1 && P <= 256) return true;
  return P <= (pass == Pass::Forward ? 64 : 100);
}

// Where Winograd (winograd.cc) and the pixel-major GEMM both apply, Winograd runs unless its 2x2
// tiles cover well beyond the output map (measured, GFLOP/s forward / weight gradient, 2 threads:
// ResNet layer3 conv2, 8x8 map, tiles 1.0x: Winograd 324/375 vs flat 204/187; small conv3, 3x3 map,
// tiles 1.78x: flat 166/153 vs Winograd 96/145, and 96/95 vs 60/77 at one thread). The Winograd
// modes (4, 6) always run it.
template <class T>
bool winograd_first(const Geom& g, long O, int kind) {
  if constexpr (std::is_same_v<T, float>) {
    if (!winograd_ok(g, O, kind)) return false;
    return winograd_mode() || 4 * ((g.oh + 1) / 2) * ((g.ow + 1) / 2) <= 1.5 * g.oh * g.ow;
  }
  return false;
}

template <class T>
void conv2d_t(const T* x, const T* w, T* y, const Geom& g, long O) {
  if constexpr (std::is_same_v<T, float>) {
    if (winograd_first<T>(g, O, 0)) return winograd_forward(x, w, y, g, O);
  }
  if (flat_ok(g, Pass::Forward, O)) return flat_forward(x, w, y, g, O);
  if constexpr (std::is_same_v<T, float>) {
    if (winograd_ok(g, O, 0)) return winograd_forward(x, w, y, g, O);
    if (rows_kernels_ok(g)) return fwd_rows(x, w, y, g, O);
    if (direct_ok(g, O) || implicit_ok(g, O, O)) return padded_forward(x, w, y, g, O);
  }
  const Plan p = plan_for<T>(g, O);
  for_chunks(p.chunks, p.threadsOverChunks, [&](long c, bool par) {
    const long n0 = c * p.chunk, cn = std::min(p.chunk, g.n - n0);
    const T* cols = chunk_cols(x, g, p, n0, cn, par);
    // y[n] = W[O, K] @ cols[n][K, P] for the chunk's images: one GEMM over batched columns.
    const Operand<T> A{w, p.K, false, O, 0};
    const Operand<T> B{cols, p.ld, false, p.P, p.K * p.ld};
    const COut co{p.P, O, 0, p.P, O * p.P};
    gemm<T>(O, cn * p.P, p.K, A, B, y + n0 * O * p.P, co, par);
  });
}

template <class T>
void conv2d_backward_input_t(const T* gy, const T* w, T* dx, const Geom& g, long O) {
  if constexpr (std::is_same_v<T, float>) {
    // The row kernel ahead of Winograd (the ResNet stem's input gradient: 159 vs 108 GFLOP/s at 2
    // threads); Winograd ahead of flat and the padded paths wherever its rule takes it.
    if (polyphase_ok(g, O)) return polyphase_backward_input(gy, w, dx, g, O);
    if (winograd_mode() && winograd_ok(g, O, 1)) return winograd_backward_input(gy, w, dx, g, O);
    if (dx_rows_ok(g)) return dx_rows(gy, w, dx, g, O);
    if (winograd_ok(g, O, 1)) return winograd_backward_input(gy, w, dx, g, O);
    if (implicit_applies(g) && g.sh == 1 && g.sw == 1) {
      const Geom t = transposed_geom(g, O);
      if (direct_ok(t, g.c)) return implicit_backward_input(gy, w, dx, g, O);
    }
  }
  if (flat_ok(g, Pass::Input, O)) return flat_backward_input(gy, w, dx, g, O);
  if constexpr (std::is_same_v<T, float>) {
    if (implicit_applies(g) && g.sh == 1 && g.sw == 1) {
      const Geom t = transposed_geom(g, O);
      if (implicit_ok(t, g.c, g.c * g.kh * g.kw)) return implicit_backward_input(gy, w, dx, g, O);
    }
  }
  const Plan p = plan_for<T>(g, O);
  const long khw = g.kh * g.kw, img = g.c * g.h * g.w;
  for_chunks(p.chunks, p.threadsOverChunks, [&](long c, bool par) {
    const long n0 = c * p.chunk, cn = std::min(p.chunk, g.n - n0);
    // dcols[n] = W^T[K, O] @ gy[n][O, P]; an identity conv's dcols are dx itself.
    T* dcols = p.identity ? dx + n0 * img : tl_cols.get<T>(cn * p.K * p.ld);
    const Operand<T> A{w, p.K, true, p.K, 0};
    const Operand<T> B{gy + n0 * O * p.P, p.P, false, p.P, O * p.P};
    const COut co{p.ld, p.K, 0, p.P, p.K * p.ld};
    gemm<T>(p.K, cn * p.P, O, A, B, dcols, co, par);
    if (p.identity) return;
    auto planes = [&](long b, long e) {
      for (long qc = b; qc < e; qc++) {
        const long q = qc / g.c, ch = qc - q * g.c;
        col2im_plane(dcols + q * p.K * p.ld + ch * khw * p.ld, dx + (n0 + q) * img + ch * g.h * g.w, g, p.ld);
      }
    };
    if (par) parallel_for(cn * g.c, 1, planes);
    else planes(0, cn * g.c);
  });
}

template <class T>
void conv2d_backward_weight_t(const T* x, const T* gy, T* dw, const Geom& g, long O) {
  const Plan p = plan_for<T>(g, O);
  const long OK = O * p.K;
  if (g.n <= 0) {
    std::fill(dw, dw + OK, T(0));
    return;
  }
  if constexpr (std::is_same_v<T, float>) {
    // The row kernel ahead of Winograd (the ResNet stem's weight gradient: 183 vs 123 GFLOP/s at 2
    // threads).
    if (winograd_mode() && winograd_ok(g, O, 2)) return winograd_backward_weight(x, gy, dw, g, O);
    if (rows_kernels_ok(g)) return dw_rows(x, gy, dw, g, O);
    if (winograd_first<T>(g, O, 2)) return winograd_backward_weight(x, gy, dw, g, O);
  }
  if (flat_ok(g, Pass::Weight, O)) return flat_backward_weight(x, gy, dw, g, O);
  const COut co{p.K, O, 0, p.K, 0};
  if constexpr (std::is_same_v<T, float>) {
    if (winograd_ok(g, O, 2)) return winograd_backward_weight(x, gy, dw, g, O);
    if (direct_weight_ok(g, O)) return direct_backward_weight(x, gy, dw, g, O);
    if (implicit_weight_ok(g, O) && implicit_backward_weight(x, gy, dw, g, O)) return;
    // Long rows: the tiles beat packing a transposed copy of every image's columns (the ResNet's
    // 256- and 1024-pixel layers: 90-130 vs 70-90 GFLOP/s; at 64-121 pixels the GEMM wins).
    if (p.P >= nt_min_pixels() && conv2d_backward_weight_nt(x, gy, dw, g, p)) return;
  }
  // dW += gy[n][O, P] @ cols[n][K, P]^T for each image of chunk c.
  auto chunkInto = [&](long c, T* acc, bool first, bool par) {
    const long n0 = c * p.chunk, cn = std::min(p.chunk, g.n - n0);
    const T* cols = chunk_cols(x, g, p, n0, cn, par);
    for (long q = 0; q < cn; q++) {
      const Operand<T> A{gy + (n0 + q) * O * p.P, p.P, false, O, 0};
      const Operand<T> B{cols + q * p.K * p.ld, p.ld, true, p.K, 0};
      gemm<T>(O, p.K, p.P, A, B, acc, co, par, !(first && q == 0));
    }
  };
  if (!p.threadsOverChunks) {
    for (long c = 0; c < p.chunks; c++) chunkInto(c, dw, c == 0, true);
    return;
  }
  // Each part sums its chunks into its own partial; the partials are added at the end.
  const long parts = std::min<long>(p.chunks, 2L * num_threads());
  std::vector<T> partial(static_cast<size_t>((parts - 1) * OK));
  parallel_for(parts, 1, [&](long b, long e) {
    for (long part = b; part < e; part++) {
      T* acc = part == 0 ? dw : partial.data() + (part - 1) * OK;
      const long c0 = p.chunks * part / parts, c1 = p.chunks * (part + 1) / parts;
      for (long c = c0; c < c1; c++) chunkInto(c, acc, c == c0, false);
    }
  });
  parallel_for(OK, 4096, [&](long i0, long i1) {
    for (long part = 1; part < parts; part++) {
      const T* s = partial.data() + (part - 1) * OK;
      for (long i = i0; i < i1; i++) dw[i] += s[i];
    }
  });
}

}  // namespace


void set_conv_mode(int mode) { g_conv_mode = mode; }
int conv_mode() { return g_conv_mode; }

void k_im2col(int dt, const void* x, void* out, const Geom& g) { GR_DT(im2col_t(F(x), FO(out), g), im2col_t(D(x), DO(out), g)) }
void k_col2im(int dt, const void* c, void* out, const Geom& g) { GR_DT(col2im_t(F(c), FO(out), g), col2im_t(D(c), DO(out), g)) }
void k_conv2d(int dt, const void* x, const void* w, void* y, const Geom& g, long O) {
  GR_DT(conv2d_t(F(x), F(w), FO(y), g, O), conv2d_t(D(x), D(w), DO(y), g, O))
}
void k_conv2d_backward_input(int dt, const void* gy, const void* w, void* dx, const Geom& g, long O) {
  GR_DT(conv2d_backward_input_t(F(gy), F(w), FO(dx), g, O), conv2d_backward_input_t(D(gy), D(w), DO(dx), g, O))
}
void k_conv2d_backward_weight(int dt, const void* x, const void* gy, void* dw, const Geom& g, long O) {
  GR_DT(conv2d_backward_weight_t(F(x), F(gy), FO(dw), g, O), conv2d_backward_weight_t(D(x), D(gy), DO(dw), g, O))
}

}  // namespace gr
