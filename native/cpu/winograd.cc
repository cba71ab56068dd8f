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
// (as in conv.cc's implicit path), run through the same forward; or, on padding-0 layers on F(4x4)
// (GRADREG_NATIVE_WINOGRAD_DX to force either), the forward's adjoint on its own output tiles
// (backward_input_adjoint: dM = A dY A^T, dV_xi = U_xi^T dM_xi, dd = B dV B^T overlap-added).
//
// Weight gradient: the adjoint of the forward. dM = A dY A^T per tile (wino_gy_avx512, output
// channels along the vector), dU_xi = sum over tiles of dM_xi V_xi^T (the "rows" micro-kernel:
// 8 (or 6) channels' rows of V_xi broadcast against 32 (or 16) output channels of dM_xi transposed),
// dW = G^T dU G.
// Each part of the batch (a fixed set of blocks) keeps its own dU; the parts are added in order at
// the end, so the result is reproducible for a fixed thread count.
//
// F(4x4, 3x3) (Lavin & Gray section 4, the same nesting with 6x6 input tiles; conv mode 6,
// 'winograd4'): the same driver with 36 transform points and 4x4 output tiles, 36 multiplies per 16
// outputs per channel pair instead of 144, 4x fewer; on maps under 8 tiles wide its output
// transform takes a block's tiles eight a vector whatever their tile rows (wino4_out_tiles_avx512),
// as a row of 3 tiles would leave most of a vector empty. Its matrices, for the interpolation points
// 0, 1, -1, 2, -2 and infinity (Toom-Cook; m(x) = x (x^2 - 1) (x^2 - 4)):
//   A^T: column p is (1, p, p^2, p^3) for a finite point, (0, 0, 0, 1) for infinity;
//   G:   row p is (1, p, p^2) / prod_{q != p} (p - q) (the finite points q), row infinity (0, 0, 1);
//   B^T: row p holds the coefficients of m(x) / (x - p) by ascending degree, row infinity m(x)'s:
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1],
//   G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
//
// AVX-512 only (the transforms and the 8x32 micro-kernels); float64 and other ISAs stay on conv.cc.
// Rounding: F(2x2)'s transform coefficients are 0, +-1 and +-1/2, so its error is a small constant
// times the direct sum's (the kernel tests bound both by the same float32 tolerance); F(4x4)'s reach
// 5 and 8 in B^T and A^T, and its error is several times F(2x2)'s (measured in winograd_tile).
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels.h"

namespace gr {
namespace {

constexpr long NR = 32, MR = 8;  // the AVX-512 micro-kernel's tile

thread_local Scratch tl_v, tl_m, tl_g, tl_o;

// The two tile sizes: M x M outputs from S x S inputs (S = M + 2), P = S^2 transform points, the
// filter transform u = G k (3 -> S values) and its adjoint k = G^T u, each on MR lanes a value
// (value i of lane l at p[i * st + l]; the lanes are MR output channels, so the loops vectorize),
// and the AVX-512 transforms of tile rows.
template <int M>
struct Tile;
template <>
struct Tile<2> {
  static constexpr int S = 4, P = 16;
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
  static void g(const float* k, long ks, float* u, long us) {
    for (long l = 0; l < MR; l++) {
      const float a = k[l], b = k[ks + l], c = k[2 * ks + l];
      u[l] = a;
      u[us + l] = 0.5f * (a + b + c);
      u[2 * us + l] = 0.5f * (a - b + c);
      u[3 * us + l] = c;
    }
  }
  // G^T = [1 1/2 1/2 0; 0 1/2 -1/2 0; 0 1/2 1/2 1].
  static void gt(const float* u, long us, float* k, long ks) {
    for (long l = 0; l < MR; l++) {
      const float u0 = u[l], u1 = u[us + l], u2 = u[2 * us + l], u3 = u[3 * us + l];
      k[l] = u0 + 0.5f * (u1 + u2);
      k[ks + l] = 0.5f * (u1 - u2);
      k[2 * ks + l] = 0.5f * (u1 + u2) + u3;
    }
  }
  static constexpr auto in = wino_in_avx512;
  static constexpr auto out = wino_out_avx512;
  static constexpr auto gy = wino_gy_avx512;
};
template <>
struct Tile<4> {
  static constexpr int S = 6, P = 36;
  // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
  static void g(const float* k, long ks, float* u, long us) {
    for (long l = 0; l < MR; l++) {
      const float a = k[l], b = k[ks + l], c = k[2 * ks + l];
      const float p = a + c, q = 0.25f * a + c, r = 0.5f * b;
      u[l] = 0.25f * a;
      u[us + l] = (p + b) * (-1.f / 6);
      u[2 * us + l] = (p - b) * (-1.f / 6);
      u[3 * us + l] = (q + r) * (1.f / 6);
      u[4 * us + l] = (q - r) * (1.f / 6);
      u[5 * us + l] = c;
    }
  }
  static void gt(const float* u, long us, float* k, long ks) {
    for (long l = 0; l < MR; l++) {
      const float u0 = u[l], u1 = u[us + l], u2 = u[2 * us + l], u3 = u[3 * us + l], u4 = u[4 * us + l];
      const float s12 = u1 + u2, d12 = u2 - u1, s34 = u3 + u4, d34 = u3 - u4;
      k[l] = 0.25f * u0 + (0.25f * s34 - s12) * (1.f / 6);
      k[ks + l] = (d12 + 0.5f * d34) * (1.f / 6);
      k[2 * ks + l] = (s34 - s12) * (1.f / 6) + u[5 * us + l];
    }
  }
  static constexpr auto in = wino4_in_avx512;
  static constexpr auto out = wino4_out_avx512;
  static constexpr auto gy = wino4_gy_avx512;
};

// Floats between the P transform points' planes of a block buffer holding n floats a plane: 64-byte
// aligned and not a multiple of 1 KiB, so that the values of one tile (read or written together
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
Tiles tiles_for(const Geom& g, long m, long perTile, long round) {
  Tiles t{};
  t.th = (g.oh + m - 1) / m;
  t.tw = (g.ow + m - 1) / m;
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
template <int M>
void transform_block(const float* x, const Geom& g, const Tiles& t, long r0, long r1, float* v) {
  const long C = g.c, T = (r1 - r0) * t.tw;
  for (long xi = 0; xi < Tile<M>::P; xi++)
    for (long c = 0; c < C; c++)
      for (long j = T; j < t.tp; j++) v[xi * t.vs + c * t.tp + j] = 0.f;
  for (long r = r0; r < r1;) {
    const long n = r / t.th, a = r - n * t.th, b = std::min(t.th, a + (r1 - r));  // tile rows [a, b) of image n
    for (long c = 0; c < C; c++)
      Tile<M>::in(x + (n * C + c) * g.h * g.w, g.h, g.w, g.ph, g.pw, a, b, t.tw, v + c * t.tp + (r - r0) * t.tw, t.vs);
    r += b - a;
  }
}

// U_xi = G g G^T (the filter transform) of the R x K filters g_(r, k), packed per xi in MR-row
// strips over r, k major: U_xi[r, k] is lane r % MR of the MR floats at
// (xi * Rr + (r / MR) * MR) * K + k * MR, Rr being R rounded up to MR (rows past R zero).
// filter(r, k, t) is tap t = 3 i + j of g_(r, k). Threads take strips; the MR rows of a strip go
// along the vector.
template <int M, class Filter>
std::unique_ptr<float[]> pack_filters(long R, long K, Filter&& filter) {
  using Tl = Tile<M>;
  constexpr int S = Tl::S, P = Tl::P;
  const long Rr = (R + MR - 1) / MR * MR;
  std::unique_ptr<float[]> buf(new float[static_cast<size_t>(P * Rr * K)]);
  float* up = buf.get();
  parallel_for(Rr / MR, 1, [&](long s0, long s1) {
    for (long s = s0; s < s1; s++)
      for (long k = 0; k < K; k++) {
        float f[9][MR], gk[S][3][MR], u[S][S][MR];
        for (long l = 0; l < MR; l++) {
          const long r = s * MR + l;
          for (int t = 0; t < 9; t++) f[t][l] = r >= R ? 0.f : filter(r, k, t);
        }
        for (int j = 0; j < 3; j++) Tl::g(f[j], 3 * MR, gk[0][j], 3 * MR);  // G g: down the columns
        for (int i = 0; i < S; i++) Tl::g(gk[i][0], MR, u[i][0], MR);       // then along the rows
        for (int xi = 0; xi < P; xi++) std::memcpy(up + (xi * Rr + s * MR) * K + k * MR, u[xi / S][xi % S], sizeof(float) * MR);
      }
  });
  return buf;
}

// y [N, O, oh, ow] = conv3x3(x, w [O, C, 3, 3]) at stride 1, padding (ph, pw) <= 2 (the input
// gradient of a padding-0 layer runs with padding 2). `flip`: w is [C, O, 3, 3] and the filter of
// (o, c) is w[c, o] rotated by 180 degrees (the input gradient's kernel, read in place).
template <int M>
void forward(const float* x, const float* w, float* y, const Geom& g, long O, bool flip) {
  using Tl = Tile<M>;
  constexpr int S = Tl::S, P = Tl::P;
  const long C = g.c, Or = (O + MR - 1) / MR * MR;
  // U_xi over (o, c): MR-row strips of output channels, k = c.
  const std::unique_ptr<float[]> upBuf = pack_filters<M>(O, C, [&](long o, long c, int t) {
    return flip ? w[(c * O + o) * 9 + 8 - t] : w[(o * C + c) * 9 + t];
  });
  float* up = upBuf.get();
  const Tiles t = tiles_for(g, M, P * (C + Or) * static_cast<long>(sizeof(float)), NR);
  const long ms = plane_stride(Or * t.tp);  // floats between M's planes
  parallel_for(t.blocks, 1, [&](long b0, long b1) {
    float* v = tl_v.get<float>(P * t.vs);
    float* m = tl_m.get<float>(P * ms);
    for (long bk = b0; bk < b1; bk++) {
      const long r0 = bk * t.rpb, r1 = std::min(t.rows, r0 + t.rpb);
      transform_block<M>(x, g, t, r0, r1, v);
      const long tn = ((r1 - r0) * t.tw + NR - 1) / NR * NR;
      for (long xi = 0; xi < P; xi++)
        for (long j = 0; j < tn; j += NR)
          for (long o0 = 0; o0 < Or; o0 += MR)
            ukr_avx512_8x32(C, up + (xi * Or + o0) * C, v + xi * t.vs + j, t.tp, m + xi * ms + o0 * t.tp + j, t.tp, 0);
      if (M == 4 && t.tw < 8) {
        // F(4x4) on maps under 8 tiles wide: the block's tiles eight a vector (wino4_out_tiles_avx512),
        // each with its place in channel 0's output and its rows and columns within the map.
        const long T = (r1 - r0) * t.tw;
        long* off = tl_o.get<long>(2 * T);
        long* lim = off + T;
        for (long f = 0; f < T; f++) {
          const long r = r0 + f / t.tw, tx = f % t.tw, n = r / t.th, ty = r - n * t.th;
          off[f] = (n * O * g.oh + M * ty) * g.ow + M * tx;
          lim[f] = 8 * std::min<long>(M, g.oh - M * ty) + std::min<long>(M, g.ow - M * tx);
        }
        for (long o = 0; o < O; o++) wino4_out_tiles_avx512(m + o * t.tp, ms, T, off, lim, y + o * g.oh * g.ow, g.ow);
      } else {
        for (long r = r0; r < r1;) {
          const long n = r / t.th, a = r - n * t.th, b = std::min(t.th, a + (r1 - r));  // tile rows [a, b) of image n
          for (long o = 0; o < O; o++)
            Tl::out(m + o * t.tp + (r - r0) * t.tw, ms, t.tw, a, b, y + (n * O + o) * g.oh * g.ow, g.oh, g.ow);
          r += b - a;
        }
      }
    }
  });
}

template <int M>
void backward_weight(const float* x, const float* gy, float* dw, const Geom& g, long O) {
  using Tl = Tile<M>;
  constexpr int S = Tl::S, P = Tl::P;
  const long C = g.c, HW = g.oh * g.ow;
  // The micro-kernel rounds the input channels up to its rows and the output channels up to its
  // columns: the AVX2 6x16 one (as fast on Zen 4, whose 512-bit FMAs run as two 256-bit halves)
  // where it rounds up clearly less (16 output channels: ResNet layer1 1.5x faster than 8x32).
  auto waste = [&](long mr, long nr) { return static_cast<double>((C + mr - 1) / mr * mr) * ((O + nr - 1) / nr * nr) / (C * O); };
  const bool narrow = waste(6, 16) < 0.8 * waste(8, 32);
  const long mr = narrow ? 6 : MR, nr = narrow ? 16 : NR;
  const auto ukr = narrow ? ukr_avx2_6x16_rows : ukr_avx512_8x32_rows;
  const long Cr = (C + mr - 1) / mr * mr, Op = (O + nr - 1) / nr * nr;
  // Per tile: V (P C floats), dM^T (P Op) and its M^2 pixels of the transposed gradient (M^2 Op).
  const Tiles t = tiles_for(g, M, (P * (C + Op) + M * M * Op) * static_cast<long>(sizeof(float)), 1);
  const long ds = plane_stride(t.tp * Op);  // floats between dM^T's planes
  const long parts = std::min<long>(t.blocks, 2L * num_threads()), du = P * Cr * Op;
  std::unique_ptr<float[]> accBuf(new float[static_cast<size_t>(parts * du)]);  // each part's first block writes it
  float* acc = accBuf.get();
  parallel_for(parts, 1, [&](long p0, long p1) {
    float* v = tl_v.get<float>(P * t.vs);
    float* dm = tl_m.get<float>(P * ds);
    float* gt = tl_g.get<float>(M * M * t.rpb * t.tw * Op);
    for (long part = p0; part < p1; part++) {
      float* dut = acc + part * du;  // dU_xi^T [Cr][Op]
      const long bk0 = t.blocks * part / parts;
      for (long bk = bk0; bk < t.blocks * (part + 1) / parts; bk++) {
        const long r0 = bk * t.rpb, r1 = std::min(t.rows, r0 + t.rpb), T = (r1 - r0) * t.tw;
        transform_block<M>(x, g, t, r0, r1, v);
        for (long r = r0; r < r1;) {
          const long n = r / t.th, a = r - n * t.th, b = std::min(t.th, a + (r1 - r));  // tile rows [a, b) of image n
          // Output rows M a .. M b of image n, pixel-major with Op channels a pixel (M tw pixels a
          // row), zero past oh, ow and O.
          const long ldr = M * t.tw * Op;
          for (long py = 0; py < M * (b - a); py++) {
            float* d = gt + py * ldr;
            const long oy = M * a + py;
            if (oy >= g.oh) {
              std::memset(d, 0, sizeof(float) * ldr);
              continue;
            }
            wino_transpose_avx512(gy + n * O * HW + oy * g.ow, O, g.ow, HW, d, Op);
            if (O < Op)
              for (long xx = 0; xx < g.ow; xx++) std::memset(d + xx * Op + O, 0, sizeof(float) * (Op - O));
            if (g.ow < M * t.tw) std::memset(d + g.ow * Op, 0, sizeof(float) * (M * t.tw - g.ow) * Op);
          }
          for (long ty = a; ty < b; ty++)
            Tl::gy(gt + M * (ty - a) * ldr, ldr, Op, t.tw, dm + (r - r0 + ty - a) * t.tw * Op, ds);
          r += b - a;
        }
        // dU_xi^T[c, o] += sum over the block's tiles of V_xi[c, t] dM_xi[o, t].
        for (long xi = 0; xi < P; xi++)
          for (long c0 = 0; c0 < Cr; c0 += mr) {
            const float* rows[MR];
            for (long k = 0; k < mr; k++) rows[k] = v + xi * t.vs + std::min(c0 + k, C - 1) * t.tp;
            for (long o0 = 0; o0 < Op; o0 += nr)
              ukr(T, rows, dm + xi * ds + o0, Op, dut + (xi * Cr + c0) * Op + o0, Op, bk > bk0);
          }
      }
    }
  });
  // The parts added in order into the first, then dW = G^T dU G (the adjoint of U = G g G^T), MR
  // output channels at a time along the vector.
  float* u0 = acc;
  parallel_for(du, 4096, [&](long i0, long i1) {
    for (long part = 1; part < parts; part++) {
      const float* s = acc + part * du;
      for (long i = i0; i < i1; i++) u0[i] += s[i];
    }
  });
  parallel_for(C, 1, [&](long c0, long c1) {
    for (long c = c0; c < c1; c++)
      for (long o0 = 0; o0 < O; o0 += MR) {  // Op is a multiple of MR
        float u[S][S][MR], h[3][S][MR], k[3][3][MR];
        for (int xi = 0; xi < P; xi++) std::memcpy(u[xi / S][xi % S], u0 + (xi * Cr + c) * Op + o0, sizeof(float) * MR);
        for (int j = 0; j < S; j++) Tl::gt(u[0][j], S * MR, h[0][j], S * MR);  // G^T dU: down the columns
        for (int i = 0; i < 3; i++) Tl::gt(h[i][0], MR, k[i][0], MR);          // then along the rows
        for (long o = o0; o < std::min(O, o0 + MR); o++)
          for (int q = 0; q < 9; q++) dw[(o * C + c) * 9 + q] = k[q / 3][q % 3][o - o0];
      }
  });
}

// Input gradient as the adjoint of the forward (Lavin & Gray 2016, section 4: the forward is
// y = A^T [U (.) (B^T d B)] A per output tile, linear in d; its transpose maps gy to dx through the
// same three stages reversed). On the forward's own output tile grid (th x tw tiles of oh x ow):
//   dM = A dY A^T per tile (dY the tile's M x M block of gy, zero past oh, ow),
//   dV_xi = U_xi^T dM_xi (one GEMM per transform point, reducing over the output channels),
//   dd = B dV B^T per tile, added into dx at the tile's S x S input window (neighbouring windows
//   overlap by 2 rows and columns; the parts in the padding or past the map are dropped).
// Unlike the convolution of gy padded by 2 - p (winograd_backward_input's other path), no tile
// covers only padding: a padding-0 layer's dx (h = oh + 2) takes th tw tiles instead of
// ceil(h / M) ceil(w / M). Blocks are whole images (the overlap-add stays inside a block), sized
// like tiles_for's; each dx value is the same sum in the same order whatever the blocks, so the
// result does not depend on the thread count.
template <int M>
void backward_input_adjoint(const float* gy, const float* w, float* dx, const Geom& g, long O) {
  using Tl = Tile<M>;
  constexpr int S = Tl::S, P = Tl::P;
  const long C = g.c, Cr = (C + MR - 1) / MR * MR;
  // U_xi^T over (c, o): MR-row strips of input channels, k = o.
  const std::unique_ptr<float[]> utBuf = pack_filters<M>(C, O, [&](long c, long o, int t) { return w[(o * C + c) * 9 + t]; });
  float* ut = utBuf.get();
  const long th = (g.oh + M - 1) / M, tw = (g.ow + M - 1) / M, ti = th * tw;
  const long perImage = P * (O + Cr) * ti * static_cast<long>(sizeof(float));
  const long share = (g.n + 2 * num_threads() - 1) / (2 * num_threads());
  const long maxI = std::clamp<long>(std::min(640L * 1024 / perImage, share), 1, g.n);
  long ipb = 1;  // images a block: the fewest columns wasted to rounding up to NR (larger on ties)
  double best = 1e9;
  for (long i = 1; i <= maxI; i++) {
    const long T = i * ti;
    const double waste = static_cast<double>((T + NR - 1) / NR * NR) / T;
    if (waste <= best + 1e-9) {
      best = waste;
      ipb = i;
    }
  }
  const long blocks = (g.n + ipb - 1) / ipb, tp = (ipb * ti + NR - 1) / NR * NR;
  const long ms = plane_stride(O * tp), vs = plane_stride(Cr * tp);
  const long Hp = M * th + 2, Wp = M * tw + 2, HW = g.oh * g.ow;
  parallel_for(blocks, 1, [&](long b0, long b1) {
    float* dm = tl_m.get<float>(P * ms);
    float* dv = tl_v.get<float>(P * vs);
    float* yg = tl_g.get<float>(P * tp + Hp * Wp);  // a channel's dY (M^2 rows of tp) or dd (P rows)
    float* buf = yg + P * tp;                          // a padded map (Hp x Wp)
    for (long bk = b0; bk < b1; bk++) {
      const long n0 = bk * ipb, n1 = std::min(g.n, n0 + ipb), T = (n1 - n0) * ti, tn = (T + NR - 1) / NR * NR;
      // dM[xi][o][t] = (A dY A^T)_xi (wino_adj_gy_avx512), dY_ab of tile t gathered into row a M + b.
      for (long o = 0; o < O; o++) {
        for (long n = n0; n < n1; n++)
          for (long ty = 0; ty < th; ty++)
            for (long a = 0; a < M; a++) {
              const long oy = M * ty + a;
              const float* src = oy < g.oh ? gy + (n * O + o) * HW + oy * g.ow : nullptr;
              float* dst = yg + a * M * tp + (n - n0) * ti + ty * tw;
              for (long tx = 0; tx < tw; tx++)
                if (src && M * tx + M <= g.ow) {
#pragma GCC unroll 8
                  for (int b = 0; b < M; b++) dst[b * tp + tx] = src[M * tx + b];
                } else {
                  for (int b = 0; b < M; b++) dst[b * tp + tx] = src && M * tx + b < g.ow ? src[M * tx + b] : 0.f;
                }
            }
        for (long r = 0; r < M * M; r++)
          for (long j = T; j < tn; j++) yg[r * tp + j] = 0.f;
        wino_adj_gy_avx512(M, yg, tp, tn, dm + o * tp, ms);
      }
      // dV_xi[c, t] = sum_o U_xi[o, c] dM_xi[o, t].
      for (long xi = 0; xi < P; xi++)
        for (long j = 0; j < tn; j += NR)
          for (long c0 = 0; c0 < Cr; c0 += MR)
            ukr_avx512_8x32(O, ut + (xi * Cr + c0) * O, dm + xi * ms + j, tp, dv + xi * vs + c0 * tp + j, tp, 0);
      // dd = B dV B^T per tile (wino_adj_in_avx512), overlap-added in a fixed order into a zeroed
      // padded map of channel c (Hp x Wp covers every tile's window), then its interior to dx.
      for (long c = 0; c < C; c++) {
        wino_adj_in_avx512(M, dv + c * tp, vs, tn, yg, tp);
        for (long n = n0; n < n1; n++) {
          std::memset(buf, 0, sizeof(float) * Hp * Wp);
          for (long ty = 0; ty < th; ty++)
            for (long tx = 0; tx < tw; tx++) {
              const float* q = yg + (n - n0) * ti + ty * tw + tx;
              float* d = buf + M * ty * Wp + M * tx;
#pragma GCC unroll 8
              for (int a = 0; a < S; a++)
#pragma GCC unroll 8
                for (int b = 0; b < S; b++) d[a * Wp + b] += q[(a * S + b) * tp];
            }
          float* out = dx + (n * C + c) * g.h * g.w;
          for (long y = 0; y < g.h; y++) std::memcpy(out + y * g.w, buf + (y + g.ph) * Wp + g.pw, sizeof(float) * g.w);
        }
      }
    }
  });
}

// Which tile a fused kernel `kind` (0 forward, 1 input gradient, 2 weight gradient) of g with O
// output channels runs on: 2 (F(2x2, 3x3)), 4 (F(4x4, 3x3)) or 0 (none: the other paths).
int winograd_tile(const Geom& g, long O, int kind) {
  const int mode = conv_mode();
  if (mode != 0 && mode != 4 && mode != 6) return 0;
  if (isa_active() != ISA_AVX512) return 0;
  if (!(g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.ph <= 2 && g.pw <= 2)) return 0;
  if (g.n <= 0 || g.c <= 0 || O <= 0 || g.oh <= 0 || g.ow <= 0) return 0;
  if (mode == 4) return 2;
  if (mode == 6) return 4;
  // GRADREG_NATIVE_WINOGRAD=0 keeps auto on the other paths, =2 on F(2x2, 3x3) where it would take
  // F(4x4, 3x3) (to time what auto ran before; read at every call, so a benchmark can take turns in
  // one process).
  const char* e = std::getenv("GRADREG_NATIVE_WINOGRAD");
  if (e && e[0] == '0') return 0;
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
  // Wider layers (more than 64 channels in or out; 2 threads, batch 20-50, ms auto before / F(2x2)
  // / F(4x4), forward, input gradient, weight gradient): up to 256 channels F(2x2) runs 1.2-2.2x
  // ahead of the other paths (128 on 16x16: 18.7 / 9.3 / 11.3, 19.0 / 9.3 / 11.5, 21.9 / 9.8 / 7.4;
  // 256 on 8x8: 18.6 / 13.4 / 19.5, 19.3 / 13.6 / 19.9, 20.5 / 11.4 / 23.2; 256 on 16x16: 31.1 /
  // 25.5 / 29.4, 31.4 / 25.7 / 29.4, 36.3 / 15.7 / 32.2; 128 on 7x7 and 56x56, 192 on 8x8, 256 on
  // 4x4 likewise), F(4x4) only for the weight gradient up to 128 channels on maps of 12 or more
  // (64 to 128 on 32x32: 16.6 / 7.8 / 5.4) and for the forward and input gradient up to 96 (96 on
  // 12x12: 7.7 / 3.5 / 3.2). From 384 channels on the other paths win (384 on 8x8: 19.5 / 21.8 /
  // 39.5 forward). Float32 error there (bench/native-winograd-error.ts --wide): F(2x2) at most
  // 7.1e-7, F(4x4) 9.5e-6 to 1.4e-5 forward and input gradient (hence not past 96 channels), 3.9e-6
  // weight gradient.
  if (g.ph > 1 || g.pw > 1) return 0;
  const long wide = std::max(g.c, O);
  if (wide > 256) return 0;
  const long oh = kind == 1 ? g.h : g.oh, ow = kind == 1 ? g.w : g.ow;
  const long in = kind == 0 ? g.c : O, out = kind == 0 ? O : g.c;
  // F(4x4, 3x3) does 4x fewer multiplies than the direct sum (F(2x2)'s 2.25x) but its transforms
  // cost more a tile: it wins on maps of 11 or more each way (under load, 1 / 2 threads, GFLOP/s
  // against F(2x2); fwd, dx, dw): ResNet layer1, 32x32 with 16 channels, 1.42 / 1.38, 1.44 / 1.36,
  // 1.40 / 1.34; layer2 conv2, 16x16 with 32, 1.21 / 1.28, 1.19 / 1.28, 1.28 / 1.23; the small CNN
  // conv2, 11x11 from 32 to 64 channels, 1.21 / 1.29, 1.09 / 1.03, 1.27 / 1.19. The ResNet stem (3
  // to 16 channels) stays on conv.cc's row kernels: its forward on F(4x4) runs 1.22 / 1.19 ahead of
  // them alone but 0.92 in the exact-penalty step (6.5-7.0 vs 6.0-6.3 ms a step, one thread), and
  // its gradients' row kernels are ahead of F(4x4) (dx 82 vs 78 / 158 vs 133, dw 100 vs 90 / 182 vs
  // 170). On 8x8 (layer3 conv2) it wins at one thread (1.08, 1.08, 1.09) but at two only from 100
  // images on (batch 50: 0.98, 0.97, 0.96; 100: 1.13, 1.14, 1.13; 500, the batched vjp's 10
  // cotangents of 50, idle: 1.21, 1.20, 1.24), and it loses on smaller maps and on one input channel. Its float32 error, the
  // largest |y - y64| over the largest |y64| against the float64 result at the models' 3x3 layers
  // (bench/native-winograd-error.ts; fwd, dx, dw), is 3e-6 to 8e-6 (layer3 conv2 8.2e-6, 6.6e-6,
  // 2.8e-6; small CNN conv2 5.0e-6, 6.3e-6, 2.8e-6; ResNet layer1 3.8e-6, 3.9e-6, 4.5e-6), against
  // 1.6e-7 to 8e-7 for F(2x2) and 1.3e-7 to 5.6e-7 for im2col: inside the kernel tests' 2e-5, 10 to
  // 20 times F(2x2)'s.
  const bool f4 = !(e && e[0] == '2') &&
                  (wide > 64 ? (kind == 2 ? wide <= 128 && oh >= 12 && ow >= 12 : wide <= 96 && oh >= 11 && ow >= 11)
                             : (oh >= 11 && ow >= 11) || (oh >= 8 && ow >= 8 && g.n >= 100));
  if (kind == 2 && !(g.c >= 3 && O >= 16)) return 0;
  if (f4 && (kind == 2 || (in >= 16 && out >= 3))) return 4;
  if (4 * ((oh + 1) / 2) * ((ow + 1) / 2) > (kind == 1 ? 1.4 : 1.8) * oh * ow) return 0;
  return kind == 2 || (in >= 16 && out >= 3) ? 2 : 0;
}

// Whether the input gradient runs as the forward's adjoint (backward_input_adjoint) or as the
// convolution of gy padded by 2 - p: GRADREG_NATIVE_WINOGRAD_DX=adjoint|conv forces one (read at
// every call, so a benchmark can take turns in one process); otherwise the adjoint on padding-0
// layers on F(4x4, 3x3), where the convolution's tiles over the gy padded by 2 do the most wasted
// work (measured with bench/native-conv.ts on a loaded machine, GFLOP/s adjoint vs convolution, 1 / 2
// threads: the small CNN conv2 on F(4x4) 150 vs 122 / 150 vs 124; on F(2x2) the adjoint loses, 95
// vs 115 / 94 vs 114: its blocks of whole images round 72 tiles up to 96 columns, and its gathers
// and overlap-adds cost more a flop; padded layers keep the convolution, whose tiles then waste
// little).
bool adjoint_dx(const Geom& g, int tile) {
  const char* e = std::getenv("GRADREG_NATIVE_WINOGRAD_DX");
  if (e && !std::strcmp(e, "adjoint")) return true;
  if (e && !std::strcmp(e, "conv")) return false;
  return tile == 4 && g.ph == 0 && g.pw == 0;
}

}  // namespace

bool winograd_ok(const Geom& g, long O, int kind) { return winograd_tile(g, O, kind) != 0; }

void winograd_forward(const float* x, const float* w, float* y, const Geom& g, long O) {
  if (winograd_tile(g, O, 0) == 4) forward<4>(x, w, y, g, O, false);
  else forward<2>(x, w, y, g, O, false);
}

void winograd_backward_input(const float* gy, const float* w, float* dx, const Geom& g, long O) {
  const int tile = winograd_tile(g, O, 1);
  if (adjoint_dx(g, tile)) {
    if (tile == 4) backward_input_adjoint<4>(gy, w, dx, g, O);
    else backward_input_adjoint<2>(gy, w, dx, g, O);
    return;
  }
  // dx = conv(gy padded by 2 - p, W') with W'[c, o, i, j] = W[o, c, 2 - i, 2 - j].
  const Geom t{g.n, O, g.oh, g.ow, 3, 3, 1, 1, 2 - g.ph, 2 - g.pw, g.h, g.w};
  if (tile == 4) forward<4>(gy, w, dx, t, g.c, true);
  else forward<2>(gy, w, dx, t, g.c, true);
}

void winograd_backward_weight(const float* x, const float* gy, float* dw, const Geom& g, long O) {
  if (winograd_tile(g, O, 2) == 4) backward_weight<4>(x, gy, dw, g, O);
  else backward_weight<2>(x, gy, dw, g, O);
}

}  // namespace gr
