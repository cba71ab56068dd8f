// Batch-norm kernels over [N, C, *] per channel: the training forward, its fused backward and the
// fused second derivative (batchnorm_impl.h: a pass of per-channel sums and an elementwise pass,
// both over the N * C planes in memory order, parallel over planes). This file holds the baseline
// x86-64 build of them and picks the build for the active ISA (isa_active(), the GEMM's selection:
// AVX-512, AVX2 or this one); all three give the same bits.
#include "kernels.h"

#define GR_BN_VEC 16
#define GR_BN_ENTRY(name) name##_base
#include "batchnorm_impl.h"

namespace gr {

// batchnorm_avx2.cc, batchnorm_avx512.cc: the same kernels with wider vectors.
#define GR_BN_DECLARE(isa)                                                                                          \
  void bn_forward_##isa(int dt, const void* x, const void* gamma, const void* beta, double eps, long n, long c,      \
                        long s, void* y, void* mean, void* var);                                                    \
  void bn_backward_##isa(int dt, const void* x, const void* gy, const void* mean, const void* var,                   \
                         const void* gamma, double eps, long n, long c, long s, void* dx, void* dgamma, void* dbeta, \
                         const void* mask);                                                                         \
  void bn_double_backward_##isa(int dt, const void* x, const void* g, const void* u, const void* mean,                \
                                const void* var, const void* gamma, double eps, long n, long c, long s, void* gx,    \
                                void* gg, void* dgamma, int acc, const void* mask);
GR_BN_DECLARE(avx2)
GR_BN_DECLARE(avx512)
#undef GR_BN_DECLARE

namespace {
// dtype code for the builds' entry points: 0 float32, 1 float64.
inline int fdt(int dt) { return dt == kFloat32 ? 0 : 1; }
// Block b of a stack of cotangents, each block n * c * s values.
inline const void* blk(const void* p, int dt, long b, long size) {
  return static_cast<const char*>(p) + b * size * (dt == kFloat32 ? 4 : 8);
}
inline void* blk(void* p, int dt, long b, long size) {
  return static_cast<char*>(p) + b * size * (dt == kFloat32 ? 4 : 8);
}
}  // namespace

void k_batch_norm_forward(int dt, const void* x, const void* gamma, const void* beta, double eps, long n, long c, long s,
                          void* y, void* mean, void* var) {
  const int isa = isa_active();
  if (isa == ISA_AVX512) bn_forward_avx512(fdt(dt), x, gamma, beta, eps, n, c, s, y, mean, var);
  else if (isa == ISA_AVX2) bn_forward_avx2(fdt(dt), x, gamma, beta, eps, n, c, s, y, mean, var);
  else bn_forward_base(fdt(dt), x, gamma, beta, eps, n, c, s, y, mean, var);
}

void k_batch_norm_backward(int dt, const void* x, const void* gy, const void* mean, const void* var, const void* gamma,
                           double eps, long n, long c, long s, long blocks, void* dx, void* dgamma, void* dbeta,
                           const void* mask) {
  // A stack of `blocks` cotangents gy [blocks, n, c, s]: each block its own backward (statistics per
  // block), dx [blocks, n, c, s], dgamma and dbeta [blocks, c].
  const int isa = isa_active();
  const long size = n * c * s;
  for (long b = 0; b < blocks; b++) {
    const void* gb = blk(gy, dt, b, size);
    void* dxb = blk(dx, dt, b, size);
    void* dgb = blk(dgamma, dt, b, c);
    void* dbb = blk(dbeta, dt, b, c);
    if (isa == ISA_AVX512) bn_backward_avx512(fdt(dt), x, gb, mean, var, gamma, eps, n, c, s, dxb, dgb, dbb, mask);
    else if (isa == ISA_AVX2) bn_backward_avx2(fdt(dt), x, gb, mean, var, gamma, eps, n, c, s, dxb, dgb, dbb, mask);
    else bn_backward_base(fdt(dt), x, gb, mean, var, gamma, eps, n, c, s, dxb, dgb, dbb, mask);
  }
}

void k_batch_norm_double_backward(int dt, const void* x, const void* g, const void* u, const void* mean, const void* var,
                                  const void* gamma, double eps, long n, long c, long s, long blocks, void* gx, void* gg,
                                  void* dgamma, const void* mask) {
  // A stack of `blocks` pairs (g, u) [blocks, n, c, s]: gg per block, gx [n, c, s] and dgamma [c]
  // summed over the blocks in block order (the bits of separate kernels' results added one by one).
  const int isa = isa_active();
  const long size = n * c * s;
  for (long b = 0; b < blocks; b++) {
    const void* gb = blk(g, dt, b, size);
    const void* ub = blk(u, dt, b, size);
    void* ggb = blk(gg, dt, b, size);
    const int acc = b > 0;
    if (isa == ISA_AVX512) bn_double_backward_avx512(fdt(dt), x, gb, ub, mean, var, gamma, eps, n, c, s, gx, ggb, dgamma, acc, mask);
    else if (isa == ISA_AVX2) bn_double_backward_avx2(fdt(dt), x, gb, ub, mean, var, gamma, eps, n, c, s, gx, ggb, dgamma, acc, mask);
    else bn_double_backward_base(fdt(dt), x, gb, ub, mean, var, gamma, eps, n, c, s, gx, ggb, dgamma, acc, mask);
  }
}

}  // namespace gr
