// Batch-norm kernels over [N, C, *] per channel: the training forward, its fused backward and the
// fused second derivative. Each parallelizes over channels.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "kernels.h"
#include "dtype_dispatch.h"
#include "nditer.h"

namespace gr {
namespace {

// Per-channel sums in double over 8 independent lanes: no serial chain of dependent adds (which
// would cost an add latency per element), and a layout the compiler vectorizes.
//
// sum and sum of squares of (x - shift) in one pass; the shift (a sample of the data) keeps the
// variance E[d^2] - E[d]^2 free of cancellation when the mean is large against the deviation.
template <class T>
inline void lane_sum_sq(const T* p, long n, double shift, double& sum, double& sq) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; l++) {
      const double d = static_cast<double>(p[k + l]) - shift;
      a[l] += d;
      b[l] += d * d;
    }
  double ta = 0, tb = 0;
  for (; k < n; k++) {
    const double d = static_cast<double>(p[k]) - shift;
    ta += d;
    tb += d * d;
  }
  sum += ta + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  sq += tb + ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
}

// sg += sum g, sgd += sum g * (x - mu)
template <class T>
inline void lane_grad_sums(const T* g, const T* x, long n, double mu, double& sg, double& sgd) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0}, b[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long k = 0;
  for (; k + 8 <= n; k += 8)
    for (int l = 0; l < 8; l++) {
      const double gv = static_cast<double>(g[k + l]);
      a[l] += gv;
      b[l] += gv * (static_cast<double>(x[k + l]) - mu);
    }
  double ta = 0, tb = 0;
  for (; k < n; k++) {
    const double gv = static_cast<double>(g[k]);
    ta += gv;
    tb += gv * (static_cast<double>(x[k]) - mu);
  }
  sg += ta + ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
  sgd += tb + ((b[0] + b[4]) + (b[1] + b[5])) + ((b[2] + b[6]) + (b[3] + b[7]));
}

// Batch statistics in double, in one pass over shifted values (shift = the channel's first value);
// the affine map in T.
template <class T>
void batch_norm_forward_t(const T* x, const T* gamma, const T* beta, double eps, long n, long c, long s, T* y, T* mean,
                  T* var) {
  const double m = static_cast<double>(n * s);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const double shift = x[ch * s];
      double sum = 0, sq = 0;
      for (long b = 0; b < n; b++) lane_sum_sq(x + (b * c + ch) * s, s, shift, sum, sq);
      const double dm = sum / m, mu = shift + dm;
      const double v = std::max(0.0, sq / m - dm * dm);
      mean[ch] = static_cast<T>(mu);
      var[ch] = static_cast<T>(v);
      const T ga = static_cast<T>(gamma[ch] * (1.0 / std::sqrt(v + eps)));
      const T be = beta[ch], muT = static_cast<T>(mu);
      for (long b = 0; b < n; b++) {
        const T* p = x + (b * c + ch) * s;
        T* q = y + (b * c + ch) * s;
        for (long k = 0; k < s; k++) q[k] = (p[k] - muT) * ga + be;
      }
    }
  });
}

// dx = gamma * inv / m * (m * gy - sum gy - xhat * sum(gy * xhat)), xhat = (x - mu) * inv.
template <class T>
void batch_norm_backward_t(const T* x, const T* gy, const T* mean, const T* var, const T* gamma, double eps, long n, long c,
                   long s, T* dx, T* dgamma, T* dbeta) {
  const double m = static_cast<double>(n * s);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const double mu = mean[ch];
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      double sg = 0, sgd = 0;
      for (long b = 0; b < n; b++) lane_grad_sums(gy + (b * c + ch) * s, x + (b * c + ch) * s, s, mu, sg, sgd);
      const double sgx = sgd * inv;
      dbeta[ch] = static_cast<T>(sg);
      dgamma[ch] = static_cast<T>(sgx);
      const double f = gamma[ch] * inv / m;
      // dx = A * gy + B * (x - mu) + C
      const T A = static_cast<T>(f * m), B = static_cast<T>(-f * inv * sgx), C = static_cast<T>(-f * sg);
      const T muT = static_cast<T>(mu);
      for (long b = 0; b < n; b++) {
        const T* px = x + (b * c + ch) * s;
        const T* pg = gy + (b * c + ch) * s;
        T* q = dx + (b * c + ch) * s;
        for (long k = 0; k < s; k++) q[k] = A * pg[k] + B * (px[k] - muT) + C;
      }
    }
  });
}

// The second derivative of batch_norm_backward's dx against a cotangent u (formula in src/backends/backend.ts):
// one pass for five per-channel sums, one writing gx and gg.
template <class T>
void batch_norm_double_backward_t(const T* x, const T* g, const T* u, const T* mean, const T* var, const T* gamma, double eps,
                          long n, long c, long s, T* gx, T* gg, T* dgamma) {
  const double m = static_cast<double>(n * s);
  parallel_for(c, 1, [&](long cb, long ce) {
    for (long ch = cb; ch < ce; ch++) {
      const double mu = mean[ch];
      const double inv = 1.0 / std::sqrt(static_cast<double>(var[ch]) + eps);
      double sg = 0, su = 0, sgd = 0, sud = 0, sug = 0;
      for (long b = 0; b < n; b++) {
        const long o = (b * c + ch) * s;
        double a[5][8] = {};
        long k = 0;
        for (; k + 8 <= s; k += 8)
          for (int l = 0; l < 8; l++) {
            const double gv = g[o + k + l], uv = u[o + k + l], d = static_cast<double>(x[o + k + l]) - mu;
            a[0][l] += gv;
            a[1][l] += uv;
            a[2][l] += gv * d;
            a[3][l] += uv * d;
            a[4][l] += uv * gv;
          }
        for (; k < s; k++) {
          const double gv = g[o + k], uv = u[o + k], d = static_cast<double>(x[o + k]) - mu;
          sg += gv;
          su += uv;
          sgd += gv * d;
          sud += uv * d;
          sug += uv * gv;
        }
        double t[5];
        for (int q = 0; q < 5; q++) t[q] = ((a[q][0] + a[q][4]) + (a[q][1] + a[q][5])) + ((a[q][2] + a[q][6]) + (a[q][3] + a[q][7]));
        sg += t[0];
        su += t[1];
        sgd += t[2];
        sud += t[3];
        sug += t[4];
      }
      const double gm = sg / m, um = su / m, G = sgd * inv / m, U = sud * inv / m, Q = sug / m;
      const double ga = gamma[ch];
      dgamma[ch] = static_cast<T>(m * inv * (Q - um * gm - U * G));
      // gx = cx ((u - um) G + (g - gm) U + xhat r), gg = cg (u - um - xhat U), xhat = (x - mu) inv
      const T cx = static_cast<T>(-ga * inv * inv), cg = static_cast<T>(ga * inv);
      const T Gt = static_cast<T>(G), Ut = static_cast<T>(U), umT = static_cast<T>(um), gmT = static_cast<T>(gm);
      const T rI = static_cast<T>((Q - um * gm - 3 * U * G) * inv), uI = static_cast<T>(U * inv), muT = static_cast<T>(mu);
      for (long b = 0; b < n; b++) {
        const long o = (b * c + ch) * s;
        for (long k = 0; k < s; k++) {
          const T d = x[o + k] - muT, uv = u[o + k] - umT;
          gx[o + k] = cx * (uv * Gt + (g[o + k] - gmT) * Ut + d * rI);
          gg[o + k] = cg * (uv - d * uI);
        }
      }
    }
  });
}

}  // namespace

void k_batch_norm_forward(int dt, const void* x, const void* gamma, const void* beta, double eps, long n, long c, long s,
                  void* y, void* mean, void* var) {
  GR_DT(batch_norm_forward_t(F(x), F(gamma), F(beta), eps, n, c, s, FO(y), FO(mean), FO(var)),
        batch_norm_forward_t(D(x), D(gamma), D(beta), eps, n, c, s, DO(y), DO(mean), DO(var)))
}
void k_batch_norm_double_backward(int dt, const void* x, const void* g, const void* u, const void* mean, const void* var,
                          const void* gamma, double eps, long n, long c, long s, void* gx, void* gg, void* dgamma) {
  GR_DT(batch_norm_double_backward_t(F(x), F(g), F(u), F(mean), F(var), F(gamma), eps, n, c, s, FO(gx), FO(gg), FO(dgamma)),
        batch_norm_double_backward_t(D(x), D(g), D(u), D(mean), D(var), D(gamma), eps, n, c, s, DO(gx), DO(gg), DO(dgamma)))
}
void k_batch_norm_backward(int dt, const void* x, const void* gy, const void* mean, const void* var, const void* gamma,
                   double eps, long n, long c, long s, void* dx, void* dgamma, void* dbeta) {
  GR_DT(batch_norm_backward_t(F(x), F(gy), F(mean), F(var), F(gamma), eps, n, c, s, FO(dx), FO(dgamma), FO(dbeta)),
        batch_norm_backward_t(D(x), D(gy), D(mean), D(var), D(gamma), eps, n, c, s, DO(dx), DO(dgamma), DO(dbeta)))
}

}  // namespace gr
