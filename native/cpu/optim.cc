// The fused optimizer updates, in place (equations in src/backends/cpu/optim.ts).
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "dtype_dispatch.h"
#include "nditer.h"

namespace gr {
namespace {

// One rule per instantiation, so each loop is branch-free and vectorizes.
template <class T, int RULE>
void update_rule(T* w, const T* g, T* s0, T* s1, long n, const UpdateParams& p) {
  const double shrink = 1 - p.lr * p.decoupledDecay;
  const double c1 = 1 - std::pow(p.beta1, p.step);
  const double c2 = 1 - std::pow(p.beta2, p.step);
  const double lr = p.lr, mom = p.momentum, b1 = p.beta1, b2 = p.beta2, eps = p.eps, wd = p.weightDecay;
  parallel_for(n, EW_GRAIN, [&](long b, long e) {
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
        wi -= (lr * gi) / (std::sqrt(a) + eps);
      } else if constexpr (RULE == kRmsprop) {
        const double a = b2 * s0[i] + (1 - b2) * gi * gi;
        s0[i] = static_cast<T>(a);
        wi -= (lr * gi) / (std::sqrt(a) + eps);
      } else {
        const double m = b1 * s0[i] + (1 - b1) * gi;
        const double v = b2 * s1[i] + (1 - b2) * gi * gi;
        s0[i] = static_cast<T>(m);
        s1[i] = static_cast<T>(v);
        wi -= (lr * (m / c1)) / (std::sqrt(v / c2) + eps);
      }
      w[i] = static_cast<T>(wi);
    }
  });
}

template <class T>
void update_t(int rule, T* w, const T* g, T* s0, T* s1, long n, const UpdateParams& p) {
  switch (rule) {
    case kSgd: update_rule<T, kSgd>(w, g, s0, s1, n, p); break;
    case kMomentum: update_rule<T, kMomentum>(w, g, s0, s1, n, p); break;
    case kNesterov: update_rule<T, kNesterov>(w, g, s0, s1, n, p); break;
    case kAdagrad: update_rule<T, kAdagrad>(w, g, s0, s1, n, p); break;
    case kRmsprop: update_rule<T, kRmsprop>(w, g, s0, s1, n, p); break;
    default: update_rule<T, kAdam>(w, g, s0, s1, n, p); break;
  }
}

}  // namespace

void k_apply_update(int dt, int rule, void* w, const void* g, void* s0, void* s1, long n, const UpdateParams& p) {
  GR_DT(update_t(rule, FO(w), F(g), FO(s0), FO(s1), n, p), update_t(rule, DO(w), D(g), DO(s0), DO(s1), n, p))
}

}  // namespace gr
