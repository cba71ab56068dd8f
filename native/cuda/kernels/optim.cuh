// Fused optimizer updates, in place, one parameter element per call; see src/backends/cpu/optim.ts
// for the equations. Arithmetic runs in double, as in the cpu reference.
#pragma once
#include "common.cuh"

namespace gr {

template <class T> struct UpdateFn {
  int rule;
  /** shrink = 1 - lr * decoupledDecay; c1, c2 = the Adam bias corrections 1 - beta^t. */
  double lr, momentum, beta1, beta2, eps, weightDecay, shrink, c1, c2;
  T* w;
  const T* g;
  T* s0;
  T* s1;
  GR_HD void operator()(idx_t i) const {
    double w0 = (double)w[i];
    double wi = w0 * shrink;
    double gi = (double)g[i] + weightDecay * w0;
    switch (rule) {
      case kSgd:
        wi -= lr * gi;
        break;
      case kMomentum: {
        double v = momentum * (double)s0[i] - lr * gi;
        s0[i] = Store<T>::from(v);
        wi += v;
        break;
      }
      case kNesterov: {
        double v = momentum * (double)s0[i] - lr * gi;
        s0[i] = Store<T>::from(v);
        wi += momentum * v - lr * gi;
        break;
      }
      case kAdagrad: {
        double a = (double)s0[i] + gi * gi;
        s0[i] = Store<T>::from(a);
        wi -= lr * gi / (sqrt(a) + eps);
        break;
      }
      case kRmsprop: {
        double a = beta2 * (double)s0[i] + (1.0 - beta2) * gi * gi;
        s0[i] = Store<T>::from(a);
        wi -= lr * gi / (sqrt(a) + eps);
        break;
      }
      case kAdam: {
        double m = beta1 * (double)s0[i] + (1.0 - beta1) * gi;
        double v = beta2 * (double)s1[i] + (1.0 - beta2) * gi * gi;
        s0[i] = Store<T>::from(m);
        s1[i] = Store<T>::from(v);
        wi -= lr * (m / c1) / (sqrt(v / c2) + eps);
        break;
      }
      default:
        break;
    }
    w[i] = Store<T>::from(wi);
  }
};

}  // namespace gr
