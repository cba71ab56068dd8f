// Winograd F(2x2, 3x3) convolution of float32, 3x3 kernels at stride 1 (Lavin & Gray 2016, "Fast
// Algorithms for Convolutional Neural Networks", section 4: the nested 2-D minimal filter and a
// convnet layer as one matrix multiply per transform point; section 4.1: the F(2x2, 3x3) matrices).
// Each 2x2 output tile is
//   Y = A^T [ sum_c (G g_oc G^T) (.) (B^T d_c B) ] A
// with d_c the 4x4 input patch of channel c (padded image), g_oc the 3x3 filter, (.) elementwise and
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
//   A^T = [1 1 1 0; 0 1 -1 -1].
// Written U_xi[o, c] = (G g_oc G^T)_xi and V_xi[c, t] = (B^T d_ct B)_xi for the 16 transform points
// xi, the sum over channels is 16 independent GEMMs M_xi = U_xi V_xi (Lavin section 4): 16 multiplies
// per 2x2 outputs per channel pair instead of 36, 2.25x fewer (less the tiles clipped at odd edges).
//
// Forward: tiles go in blocks of whole tile rows (image n, tile row ty), sized so the block's V
// [16][C][T] and M [16][O][T] stay in L2 with T close to a multiple of the micro-kernel's 32
// columns; per block: input transform (wino_in_avx512), 16 GEMMs on the 8x32 micro-kernel (tiles
// along the vector, U packed once a call), output transform (wino_out_avx512) into y, the last tile
// row and column clipped. Threads take blocks; every output depends only on its own tile, so the
// result is the same for any thread count.
//
// Input gradient: the stride-1 convolution of gy padded by 2 - p with W'[c, o] = W[o, c] flipped
// (as in conv.cc's implicit path), run through the same forward.
//
// Weight gradient: the adjoint of the forward. dM = A dY A^T per tile (wino_gy_avx512, output
// channels along the vector), dU_xi = sum over tiles of dM_xi V_xi^T (the "rows" micro-kernel:
// 8 (or 6) channels' rows of V_xi broadcast against 32 (or 16) output channels of dM_xi transposed),
// dW = G^T dU G.
// Each part of the batch (a fixed set of blocks) keeps its own dU; the parts are added in order at
// the end, so the result is reproducible for a fixed thread count.
//
// AVX-512 only (the transforms and the 8x32 micro-kernels); float64 and other ISAs stay on conv.cc.
// Rounding: the transforms' coefficients are 0, +-1 and +-1/2, so the error is a small constant
// times the direct sum's (the kernel tests bound both by the same float32 tolerance).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels.h"

namespace gr {
namespace {

constexpr long NR = 32, MR = 8;  // the AVX-512 micro-kernel's tile

thread_local Scratch tl_v, tl_m, tl_g;

// Floats between the 16 transform points' planes of a block buffer holding n floats a plane: 64-byte
// aligned and not a multiple of 1 KiB, so that the 16 values of one tile (read or written together
// by the transforms) do not all fall in the same few L1 sets.
long plane_stride(long n) {
  long s = (n + 15) / 16 * 16;
  while (s % 256 == 0) s += 16;
  return s;
}

struct Tiles {
  long th, tw, rows;  // tile rows and columns per image, tile rows in the batch
  long rpb, blocks;   // tile rows per block, blocks
  long tp;            // tile columns of a block's V and M (T rounded up to NR for the forward)
  long vs;            // floats between V's transform-point planes (C rows of tp)
};

// Tile rows per block: at most `budget` bytes of per-tile buffers (perTile bytes a tile), the
// fewest columns wasted to rounding T up to `round` (larger blocks on ties). The blocks depend on
// the thread count, but a forward output does not (each is its own tile's); the weight gradient's
// sums do, like every threaded reduction here.
Tiles tiles_for(const Geom& g, long perTile, long round) {
  Tiles t{};
  t.th = (g.oh + 1) / 2;
  t.tw = (g.ow + 1) / 2;
  t.rows = g.n * t.th;
  const long budget = 640L * 1024;
  // At least two blocks a thread where there are rows enough, so that threads finish together.
  const long share = (t.rows + 2 * num_threads() - 1) / (2 * num_threads());
  const long maxR = std::clamp<long>(std::min(budget / (perTile * t.tw), share), 1, t.rows);
  double best = 1e9;
  for (long r = 1; r <= maxR; r++) {
    const long T = r * t.tw, Tp = (T + round - 1) / round * round;
    const double waste = static_cast<double>(Tp) / T;
    if (waste <= best + 1e-9) {
      best = waste;
      t.rpb = r;
    }
  }
  t.blocks = (t.rows + t.rpb - 1) / t.rpb;
  t.tp = (t.rpb * t.tw + round - 1) / round * round;
  t.vs = plane_stride(g.c * t.tp);
  return t;
}

// Input transform of a block's tile rows [r0, r1) of the batch into v[xi][c][tp] (planes t.vs apart;
// tile (row k of the block, tx) at column k * tw + tx), columns past the block's tiles zero.
void transform_block(const float* x, const Geom& g, const Tiles& t, long r0, long r1, float* v) {
  const long C = g.c, T = (r1 - r0) * t.tw;
  for (long xi = 0; xi < 16; xi++)
    for (long c = 0; c < C; c++)
      for (long j = T; j < t.tp; j++) v[xi * t.vs + c * t.tp + j] = 0.f;
  for (long r = r0; r < r1;) {
    const long n = r / t.th, a = r - n * t.th, b = std::min(t.th, a + (r1 - r));  // tile rows [a, b) of image n
    for (long c = 0; c < C; c++)
      wino_in_avx512(x + (n * C + c) * g.h * g.w, g.h, g.w, g.ph, g.pw, a, b, t.tw, v + c * t.tp + (r - r0) * t.tw, t.vs);
    r += b - a;
  }
}

// y [N, O, oh, ow] = conv3x3(x, w [O, C, 3, 3]) at stride 1, padding (ph, pw) <= 2 (the input
// gradient of a padding-0 layer runs with padding 2). `flip`: w is [C, O, 3, 3] and the filter of
// (o, c) is w[c, o] rotated by 180 degrees (the input gradient's kernel, read in place).
void forward(const float* x, const float* w, float* y, const Geom& g, long O, bool flip) {
  const long C = g.c, Or = (O + MR - 1) / MR * MR;
  // U_xi = G g G^T (the filter transform), packed per xi in MR-row strips, k (= c) major;
  // rows past O zero. Threads take strips.
  std::unique_ptr<float[]> upBuf(new float[static_cast<size_t>(16 * Or * C)]);
  float* up = upBuf.get();
  parallel_for(Or / MR, 1, [&](long s0, long s1) {
    for (long o = s0 * MR; o < s1 * MR; o++)
      for (long c = 0; c < C; c++) {
        float f[9];
        for (int k = 0; k < 9; k++) f[k] = o >= O ? 0.f : flip ? w[(c * O + o) * 9 + 8 - k] : w[(o * C + c) * 9 + k];
        float gk[4][3];  // G g: rows of G times the filter's columns
        for (int j = 0; j < 3; j++) {
          const float k0 = f[j], k1 = f[3 + j], k2 = f[6 + j];
          gk[0][j] = k0;
          gk[1][j] = 0.5f * (k0 + k1 + k2);
          gk[2][j] = 0.5f * (k0 - k1 + k2);
          gk[3][j] = k2;
        }
        for (int i = 0; i < 4; i++) {
          const float u[4] = {gk[i][0], 0.5f * (gk[i][0] + gk[i][1] + gk[i][2]), 0.5f * (gk[i][0] - gk[i][1] + gk[i][2]), gk[i][2]};
          for (int j = 0; j < 4; j++) up[((4 * i + j) * Or + o / MR * MR) * C + c * MR + o % MR] = u[j];
        }
      }
  });
  const Tiles t = tiles_for(g, 16 * (C + Or) * static_cast<long>(sizeof(float)), NR);
  const long ms = plane_stride(Or * t.tp);  // floats between M's planes
  parallel_for(t.blocks, 1, [&](long b0, long b1) {
    float* v = tl_v.get<float>(16 * t.vs);
    float* m = tl_m.get<float>(16 * ms);
    for (long bk = b0; bk < b1; bk++) {
      const long r0 = bk * t.rpb, r1 = std::min(t.rows, r0 + t.rpb);
      transform_block(x, g, t, r0, r1, v);
      const long tn = ((r1 - r0) * t.tw + NR - 1) / NR * NR;
      for (long xi = 0; xi < 16; xi++)
        for (long j = 0; j < tn; j += NR)
          for (long o0 = 0; o0 < Or; o0 += MR)
            ukr_avx512_8x32(C, up + (xi * Or + o0) * C, v + xi * t.vs + j, t.tp, m + xi * ms + o0 * t.tp + j, t.tp, 0);
      for (long r = r0; r < r1;) {
        const long n = r / t.th, a = r - n * t.th, b = std::min(t.th, a + (r1 - r));  // tile rows [a, b) of image n
        for (long o = 0; o < O; o++)
          wino_out_avx512(m + o * t.tp + (r - r0) * t.tw, ms, t.tw, a, b, y + (n * O + o) * g.oh * g.ow, g.oh, g.ow);
        r += b - a;
      }
    }
  });
}

}  // namespace

bool winograd_ok(const Geom& g, long O, int kind) {
  const int mode = conv_mode();
  if (mode != 0 && mode != 4) return false;
  if (isa_active() != ISA_AVX512) return false;
  if (!(g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.ph <= 2 && g.pw <= 2)) return false;
  if (g.n <= 0 || g.c <= 0 || O <= 0 || g.oh <= 0 || g.ow <= 0) return false;
  if (mode == 4) return true;
  // GRADREG_NATIVE_WINOGRAD=0 keeps auto on the other paths (to time what auto ran before; read at
  // every call, so a benchmark can take turns in one process).
  if (const char* e = std::getenv("GRADREG_NATIVE_WINOGRAD"); e && e[0] == '0') return false;
  // Auto (measured with bench/native-conv.ts at batch 50, 1 and 2 threads, against what auto ran
  // before): the tiles may cover at most 1.8x the output the Winograd forward computes (the small
  // CNN's conv3, 3x3 outputs in 2x2 tiles, 1.78x, still wins 1.45x forward and 1.75x weight
  // gradient; 1x1 outputs, 4x, are left out), at most 1.4x x's map for the input gradient (its
  // conv3's, 5x5 in 3x3 tiles, 1.44x, is 1.08x faster on 1 thread but 0.96x on 2: left out),
  // padding 0 or 1, and enough channels: the forward GEMM reduces over
  // the input channels (16 or more: ResNet layer1 at 16 channels 1.7x faster; 1 and 3 channels,
  // small CNN conv1 and the ResNet stem, lose) and rounds its output channels up to 8 (3 or more:
  // the stem's input gradient, 16 -> 3 channels, wins 1.3x; the small CNN conv1's, 32 -> 1, loses).
  // The weight gradient's GEMM reduces over the tiles and rounds the output channels up to 16 or 32
  // (16 or more: ResNet layer1 2x; the ResNet stem, 3 -> 16 channels, 1.15x at 1 thread, 1.45x at 2,
  // ahead of every other path; one input channel is left out: the small CNN conv1's beats auto's
  // direct weight gradient 1.2x but not im2col's, 22 vs 53 GFLOP/s).
  // Channels beyond the measured range (64) stay on the other paths: a block of one tile row would
  // then outgrow L2 on wide maps.
  if (g.c > 64 || O > 64) return false;
  const long oh = kind == 1 ? g.h : g.oh, ow = kind == 1 ? g.w : g.ow;
  if (4 * ((oh + 1) / 2) * ((ow + 1) / 2) > (kind == 1 ? 1.4 : 1.8) * oh * ow || g.ph > 1 || g.pw > 1) return false;
  if (kind == 2) return g.c >= 3 && O >= 16;
  const long in = kind == 0 ? g.c : O, out = kind == 0 ? O : g.c;
  return in >= 16 && out >= 3;
}

void winograd_forward(const float* x, const float* w, float* y, const Geom& g, long O) { forward(x, w, y, g, O, false); }

void winograd_backward_input(const float* gy, const float* w, float* dx, const Geom& g, long O) {
  // dx = conv(gy padded by 2 - p, W') with W'[c, o, i, j] = W[o, c, 2 - i, 2 - j].
  const Geom t{g.n, O, g.oh, g.ow, 3, 3, 1, 1, 2 - g.ph, 2 - g.pw, g.h, g.w};
  forward(gy, w, dx, t, g.c, true);
}

void winograd_backward_weight(const float* x, const float* gy, float* dw, const Geom& g, long O) {
  const long C = g.c, P = g.oh * g.ow;
  // The micro-kernel rounds the input channels up to its rows and the output channels up to its
  // columns: the AVX2 6x16 one (as fast on Zen 4, whose 512-bit FMAs run as two 256-bit halves)
  // where it rounds up clearly less (16 output channels: ResNet layer1 1.5x faster than 8x32).
  auto waste = [&](long mr, long nr) { return static_cast<double>((C + mr - 1) / mr * mr) * ((O + nr - 1) / nr * nr) / (C * O); };
  const bool narrow = waste(6, 16) < 0.8 * waste(8, 32);
  const long mr = narrow ? 6 : MR, nr = narrow ? 16 : NR;
  const auto ukr = narrow ? ukr_avx2_6x16_rows : ukr_avx512_8x32_rows;
  const long Cr = (C + mr - 1) / mr * mr, Op = (O + nr - 1) / nr * nr;
  // Per tile: V (16 C floats), dM^T (16 Op) and its 4 pixels of the transposed gradient (4 Op).
  const Tiles t = tiles_for(g, (16 * (C + Op) + 4 * Op) * static_cast<long>(sizeof(float)), 1);
  const long ds = plane_stride(t.tp * Op);  // floats between dM^T's planes
  const long parts = std::min<long>(t.blocks, 2L * num_threads()), du = 16 * Cr * Op;
  std::unique_ptr<float[]> accBuf(new float[static_cast<size_t>(parts * du)]);  // each part's first block writes it
  float* acc = accBuf.get();
  parallel_for(parts, 1, [&](long p0, long p1) {
    float* v = tl_v.get<float>(16 * t.vs);
    float* dm = tl_m.get<float>(16 * ds);
    float* gt = tl_g.get<float>(4 * t.rpb * t.tw * Op);
    for (long part = p0; part < p1; part++) {
      float* dut = acc + part * du;  // dU_xi^T [Cr][Op]
      const long bk0 = t.blocks * part / parts;
      for (long bk = bk0; bk < t.blocks * (part + 1) / parts; bk++) {
        const long r0 = bk * t.rpb, r1 = std::min(t.rows, r0 + t.rpb), T = (r1 - r0) * t.tw;
        transform_block(x, g, t, r0, r1, v);
        for (long r = r0; r < r1;) {
          const long n = r / t.th, a = r - n * t.th, b = std::min(t.th, a + (r1 - r));  // tile rows [a, b) of image n
          // Output rows 2a .. 2b of image n, pixel-major with Op channels a pixel (2 tw pixels a
          // row), zero past oh, ow and O.
          const long ldr = 2 * t.tw * Op;
          for (long py = 0; py < 2 * (b - a); py++) {
            float* d = gt + py * ldr;
            const long oy = 2 * a + py;
            if (oy >= g.oh) {
              std::memset(d, 0, sizeof(float) * ldr);
              continue;
            }
            wino_transpose_avx512(gy + n * O * P + oy * g.ow, O, g.ow, P, d, Op);
            if (O < Op)
              for (long xx = 0; xx < g.ow; xx++) std::memset(d + xx * Op + O, 0, sizeof(float) * (Op - O));
            if (g.ow < 2 * t.tw) std::memset(d + g.ow * Op, 0, sizeof(float) * Op);
          }
          for (long ty = a; ty < b; ty++)
            wino_gy_avx512(gt + 2 * (ty - a) * ldr, ldr, Op, t.tw, dm + (r - r0 + ty - a) * t.tw * Op, ds);
          r += b - a;
        }
        // dU_xi^T[c, o] += sum over the block's tiles of V_xi[c, t] dM_xi[o, t].
        for (long xi = 0; xi < 16; xi++)
          for (long c0 = 0; c0 < Cr; c0 += mr) {
            const float* rows[MR];
            for (long k = 0; k < mr; k++) rows[k] = v + xi * t.vs + std::min(c0 + k, C - 1) * t.tp;
            for (long o0 = 0; o0 < Op; o0 += nr)
              ukr(T, rows, dm + xi * ds + o0, Op, dut + (xi * Cr + c0) * Op + o0, Op, bk > bk0);
          }
      }
    }
  });
  // The parts added in order into the first, then dW = G^T dU G (the adjoint of U = G g G^T).
  float* u0 = acc;
  parallel_for(du, 4096, [&](long i0, long i1) {
    for (long part = 1; part < parts; part++) {
      const float* s = acc + part * du;
      for (long i = i0; i < i1; i++) u0[i] += s[i];
    }
  });
  parallel_for(C, 1, [&](long c0, long c1) {
    for (long c = c0; c < c1; c++)
      for (long o = 0; o < O; o++) {
        float u[4][4];
        for (long xi = 0; xi < 16; xi++) u[xi / 4][xi % 4] = u0[(xi * Cr + c) * Op + o];
        // G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1]: first on the rows (i), then the columns (j).
        float h[3][4];
        for (int j = 0; j < 4; j++) {
          h[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
          h[1][j] = 0.5f * (u[1][j] - u[2][j]);
          h[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
        }
        float* k = dw + (o * C + c) * 9;
        for (int i = 0; i < 3; i++) {
          k[3 * i] = h[i][0] + 0.5f * (h[i][1] + h[i][2]);
          k[3 * i + 1] = 0.5f * (h[i][1] - h[i][2]);
          k[3 * i + 2] = 0.5f * (h[i][1] + h[i][2]) + h[i][3];
        }
      }
  });
}

}  // namespace gr
