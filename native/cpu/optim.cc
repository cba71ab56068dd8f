// The fused optimizer updates, in place (equations in src/backends/cpu/optim.ts; the kernels in
// optim_impl.h). This file holds the baseline x86-64 build and picks the build for the active ISA
// (isa_active(), the GEMM's selection: AVX-512, AVX2 or this one); all three give the same bits.
#include <cmath>

#include "kernels.h"

#define GR_OPT_ENTRY(name) name##_base
#include "optim_impl.h"

namespace gr {

// optim_avx2.cc, optim_avx512.cc: the same kernels with wider vectors.
void opt_update_avx2(int f64, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p, double c1, double c2);
void opt_update_avx512(int f64, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p, double c1, double c2);

void k_apply_update(int dt, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p) {
  // Adam's bias corrections (the other rules ignore them).
  const double c1 = 1 - std::pow(p.beta1, p.step);
  const double c2 = 1 - std::pow(p.beta2, p.step);
  const int f64 = dt == kFloat32 ? 0 : 1;
  const int isa = isa_active();
  if (isa == ISA_AVX512) opt_update_avx512(f64, rule, w, g, s0, s1, n, p, c1, c2);
  else if (isa == ISA_AVX2) opt_update_avx2(f64, rule, w, g, s0, s1, n, p, c1, c2);
  else opt_update_base(f64, rule, w, g, s0, s1, n, p, c1, c2);
}

}  // namespace gr
