// Entry points of the kernel families (elementwise.cc, reduce.cc, layout.cc, matmul.cc, conv.cc, pool.cc,
// batchnorm.cc, softmax.cc, optim.cc).
// Op, dtype, rule and kind codes are the enums of ../opcodes.h. Shapes and strides are in elements.
#pragma once
#include "common.h"
#include "../opcodes.h"

namespace gr {

// ---- elementwise ----
void k_unary(int dt, int op, const void* x, void* out, long n, double alpha);
// Output of rank r; a (rank ra) and b (rank rb) broadcast to it.
void k_binary(int dt, int op, int r, const long* oshape, const void* a, int ra, const long* ashape, const void* b,
              int rb, const long* bshape, void* out);
void k_binary_scalar(int dt, int op, const void* x, void* out, long n, double s, bool left);
void k_where(int dtc, const void* c, int rc, const long* cshape, int dt, const void* a, int ra, const long* ashape,
             const void* b, int rb, const long* bshape, void* out, int r, const long* oshape);
void k_cast(int from, const void* x, int to, void* out, long n);
void k_fill(int dt, void* out, long n, double v);
void k_random(int dt, void* out, long n, int kind, uint32_t seedLo, uint32_t seedHi, uint32_t stream, double offset,
              double a, double b);

// ---- reductions and layout ----
void k_reduce(int dt, int op, int r, const long* shape, const int* reduced, const void* x, void* out);
void k_arg_reduce(int dt, int op, const void* x, int32_t* out, long outer, long len, long inner);
// Strided copy of an r-d index space: dst[dstOff + i.dst] = src[srcOff + i.src], elements of `esize` bytes.
void k_copy(int esize, int r, const long* shape, const void* src, const long* sst, void* dst, const long* dstStrides);

// ---- matmul ----
void k_matmul(int dt, const void* a, const void* b, void* out, bool ta, bool tb, long M, long N, long K, int br,
              const long* obatch, const long* abatch, const long* bbatch);

// out = sum over nb batch entries of op(a_q) op(b_q), a and b dense batches of matrices.
void k_matmul_sum(int dt, const void* a, const void* b, void* out, bool ta, bool tb, long M, long N, long K, long nb);

// ---- conv / pooling / batch norm / softmax / optimizers ----
struct Geom {
  long n, c, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
};
void k_im2col(int dt, const void* x, void* out, const Geom& g);
void k_col2im(int dt, const void* cols, void* out, const Geom& g);
// Fused convolution with O output channels (w is [O, C*kh*kw]): y [N, O, oh*ow] = W @ im2col(x);
// dx = col2im(W^T @ gy); dw = sum_n gy[n] @ im2col(x)[n]^T.
// Which algorithm the fused convolution uses: 0 auto, 1 always im2col chunks, 2 implicit GEMM or 3
// direct convolution wherever they apply (float32, padding < kernel size, not 1x1), 4 Winograd
// F(2x2, 3x3) or 6 F(4x4, 3x3) wherever it applies (auto elsewhere), 5 the pixel-major batch GEMM
// always; for tests and benchmarks.
void set_conv_mode(int mode);
int conv_mode();
void k_conv2d(int dt, const void* x, const void* w, void* y, const Geom& g, long O);
// Winograd F(2x2, 3x3) and F(4x4, 3x3) for float32 (winograd.cc): whether the fused kernel `kind` (0
// forward, 1 input gradient, 2 weight gradient) of g with O output channels runs through one of them
// (forced by mode 4 or 6 wherever it applies: 3x3, stride 1, padding <= 2, AVX-512 active; in auto
// mode by geometry), and the trio (each picks its tile by the same rules).
bool winograd_ok(const Geom& g, long O, int kind);
void winograd_forward(const float* x, const float* w, float* y, const Geom& g, long O);
void winograd_backward_input(const float* gy, const float* w, float* dx, const Geom& g, long O);
void winograd_backward_weight(const float* x, const float* gy, float* dw, const Geom& g, long O);
void k_conv2d_backward_input(int dt, const void* gy, const void* w, void* dx, const Geom& g, long O);
void k_conv2d_backward_weight(int dt, const void* x, const void* gy, void* dw, const Geom& g, long O);
void k_max_pool2d(int dt, const void* x, void* out, int32_t* idx, const Geom& g);
// A stack of `blocks` inputs [blocks, n, c, *] through the one set of indices: [blocks, n, c, *] out.
void k_max_pool_gather(int dt, const void* x, const int32_t* idx, void* out, const Geom& g, long blocks);
void k_max_pool_scatter(int dt, const void* gy, const int32_t* idx, void* out, const Geom& g, long blocks);
void k_avg_pool2d(int dt, const void* x, void* out, const Geom& g);
void k_avg_pool2d_backward(int dt, const void* gy, void* out, const Geom& g);
void k_batch_norm_forward(int dt, const void* x, const void* gamma, const void* beta, double eps, long n, long c, long s,
                  void* y, void* mean, void* var);
void k_batch_norm_double_backward(int dt, const void* x, const void* g, const void* u, const void* mean, const void* var,
                          const void* gamma, double eps, long n, long c, long s, long blocks, void* gx, void* gg,
                          void* dgamma, const void* mask);
// mask (null for none): relu's output after the batch norm, like x; the cotangent read is
// where(mask, gy, 0) in every block, and the double backward's gg is masked likewise.
void k_batch_norm_backward(int dt, const void* x, const void* gy, const void* mean, const void* var, const void* gamma,
                   double eps, long n, long c, long s, long blocks, void* dx, void* dgamma, void* dbeta,
                   const void* mask);
void k_softmax(int dt, const void* x, void* out, long rows, long cols, bool log);
void k_softmax_hvp(int dt, const void* p, const void* v, void* out, long rows, long cols);
void k_cross_entropy(int dt, const void* z, const int32_t* labels, void* out, long rows, long cols);
void k_softmax_cross_entropy_grad(int dt, const void* z, const int32_t* labels, void* out, long rows, long cols);
void k_one_hot(const int32_t* labels, long n, long classes, int dt, void* out);
struct UpdateParams {
  double lr, momentum, beta1, beta2, eps, step, weightDecay, decoupledDecay;
};
void k_apply_update(int dt, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p);

}  // namespace gr
