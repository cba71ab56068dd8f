// The fused optimizer updates (equations in src/backends/cpu/optim.ts), compiled once per
// instruction set like batchnorm_impl.h: optim.cc (baseline x86-64, SSE2), optim_avx2.cc and
// optim_avx512.cc include this file after defining GR_OPT_ENTRY(name). Each element is updated in
// double with correctly rounded +, -, *, / and sqrt and no fused multiply-adds (the ISA files are
// compiled with -ffp-contract=off), so the three builds give the same bits; the wider builds only
// run more elements per instruction (Adam's two divisions and square root per element bound it).
//
// No inline C++ library code (see batchnorm_impl.h): builtins only, internal linkage; the bias
// corrections 1 - beta^t, which need pow, come in from optim.cc.
#include "kernels.h"

#ifndef GR_OPT_ENTRY
#error "define GR_OPT_ENTRY(name) before including optim_impl.h"
#endif

namespace gr {
namespace {

// One rule per instantiation, so each loop is branch-free and vectorizes.
template <class T, int RULE>
void update_rule(T* w, const T* g, T* s0, T* s1, long n, const UpdateParams& p, double c1, double c2) {
  const double shrink = 1 - p.lr * p.decoupledDecay;
  const double lr = p.lr, mom = p.momentum, b1 = p.beta1, b2 = p.beta2, eps = p.eps, wd = p.weightDecay;
  parallel_for(n, 1L << 15, [&](long b, long e) {
    for (long i = b; i < e; i++) {
      double wi = w[i] * shrink;
      const double gi = g[i] + wd * w[i];
      if constexpr (RULE == kSgd) {
        wi -= lr * gi;
      } else if constexpr (RULE == kMomentum) {
        const double v = mom * s0[i] - lr * gi;
        s0[i] = static_cast<T>(v);
        wi += v;
      } else if constexpr (RULE == kNesterov) {
        const double v = mom * s0[i] - lr * gi;
        s0[i] = static_cast<T>(v);
        wi += mom * v - lr * gi;
      } else if constexpr (RULE == kAdagrad) {
        const double a = s0[i] + gi * gi;
        s0[i] = static_cast<T>(a);
        wi -= (lr * gi) / (__builtin_sqrt(a) + eps);
      } else if constexpr (RULE == kRmsprop) {
        const double a = b2 * s0[i] + (1 - b2) * gi * gi;
        s0[i] = static_cast<T>(a);
        wi -= (lr * gi) / (__builtin_sqrt(a) + eps);
      } else {
        const double m = b1 * s0[i] + (1 - b1) * gi;
        const double v = b2 * s1[i] + (1 - b2) * gi * gi;
        s0[i] = static_cast<T>(m);
        s1[i] = static_cast<T>(v);
        wi -= (lr * (m / c1)) / (__builtin_sqrt(v / c2) + eps);
      }
      w[i] = static_cast<T>(wi);
    }
  });
}

template <class T>
void update_t(int rule, T* w, const T* g, T* s0, T* s1, long n, const UpdateParams& p, double c1, double c2) {
  switch (rule) {
    case kSgd: update_rule<T, kSgd>(w, g, s0, s1, n, p, c1, c2); break;
    case kMomentum: update_rule<T, kMomentum>(w, g, s0, s1, n, p, c1, c2); break;
    case kNesterov: update_rule<T, kNesterov>(w, g, s0, s1, n, p, c1, c2); break;
    case kAdagrad: update_rule<T, kAdagrad>(w, g, s0, s1, n, p, c1, c2); break;
    case kRmsprop: update_rule<T, kRmsprop>(w, g, s0, s1, n, p, c1, c2); break;
    default: update_rule<T, kAdam>(w, g, s0, s1, n, p, c1, c2); break;
  }
}

}  // namespace

// f64: 0 float32, 1 float64. c1, c2: 1 - beta1^step, 1 - beta2^step.
void GR_OPT_ENTRY(opt_update)(int f64, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p,
                              double c1, double c2) {
  if (f64)
    update_t(rule, static_cast<double*>(w), static_cast<const double*>(g), static_cast<double*>(s0), static_cast<double*>(s1), n, p, c1, c2);
  else
    update_t(rule, static_cast<float*>(w), static_cast<const float*>(g), static_cast<float*>(s0), static_cast<float*>(s1), n, p, c1, c2);
}

}  // namespace gr
