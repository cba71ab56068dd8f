// Batch norm over [N, C, S] per channel: a channel is one row of N*S elements, strided in memory.
#pragma once
#include "segments.cuh"

namespace gr {

struct BnShape {
  idx_t n, c, s;
  /** Offset of element k (k = b*S + j) of channel ch. */
  GR_HD idx_t at(idx_t ch, idx_t k) const {
    QR b = divmod(k, s);
    return (b.q * c + ch) * s + b.r;
  }
  GR_HD idx_t count() const { return n * s; }
};

/** y = gamma (x - mean) / sqrt(var + eps) + beta with the batch mean and biased variance (two passes). */
template <class T> struct BatchNormForwardFn {
  static constexpr int kPasses = 2;
  static constexpr bool kWrite = true;
  using Row = idx_t;
  using Acc = double;
  using Acc2 = double;
  struct Fin {
    double mean, var, scale, shift;
  };
  BnShape sh;
  double eps;
  const T* x;
  const T* gamma;
  const T* beta;
  T* y;
  T* mean;
  T* variance;
  GR_HD Row row(idx_t ch) const { return ch; }
  GR_HD Acc init() const { return 0.0; }
  GR_HD Acc load(Row ch, idx_t k) const { return (double)x[sh.at(ch, k)]; }
  GR_HD Acc combine(Acc a, Acc b) const { return a + b; }
  GR_HD Acc2 init2() const { return 0.0; }
  GR_HD Acc2 load2(Row ch, idx_t k, Acc sum) const {
    double d = (double)x[sh.at(ch, k)] - sum / (double)sh.count();
    return d * d;
  }
  GR_HD Acc2 combine2(Acc2 a, Acc2 b) const { return a + b; }
  GR_HD Fin finish(Row ch, Acc sum, Acc2 sq) const {
    double m = (double)sh.count();
    Fin f;
    f.mean = sum / m;
    f.var = sq / m;
    f.scale = (double)gamma[ch] * (1.0 / sqrt(f.var + eps));
    f.shift = (double)beta[ch];
    return f;
  }
  GR_HD void write(Row ch, const Fin& f, idx_t k) const {
    idx_t o = sh.at(ch, k);
    y[o] = Store<T>::from(((double)x[o] - f.mean) * f.scale + f.shift);
  }
  GR_HD void write_row(idx_t ch, Row, const Fin& f) const {
    mean[ch] = Store<T>::from(f.mean);
    variance[ch] = Store<T>::from(f.var);
  }
};

struct BnSums {
  double g, gx;
};

/** dx = gamma invstd / M (M gy - sum(gy) - xhat sum(gy xhat)); dgamma = sum(gy xhat); dbeta = sum(gy). */
template <class T> struct BatchNormBackwardFn {
  static constexpr int kPasses = 1;
  static constexpr bool kWrite = true;
  struct Row {
    idx_t ch;
    double mean, invstd;
  };
  using Acc = BnSums;
  using Acc2 = NoAcc;
  struct Fin {
    double sg, sgx, f;
  };
  BnShape sh;
  double eps;
  const T* x;
  const T* gy;
  const T* mean;
  const T* variance;
  const T* gamma;
  T* dx;
  T* dgamma;
  T* dbeta;
  GR_HD Row row(idx_t ch) const {
    Row r = {ch, (double)mean[ch], 1.0 / sqrt((double)variance[ch] + eps)};
    return r;
  }
  GR_HD Acc init() const {
    Acc a = {0.0, 0.0};
    return a;
  }
  GR_HD Acc load(const Row& r, idx_t k) const {
    idx_t o = sh.at(r.ch, k);
    double g = (double)gy[o];
    Acc a = {g, g * ((double)x[o] - r.mean) * r.invstd};
    return a;
  }
  GR_HD Acc combine(Acc a, Acc b) const {
    Acc c = {a.g + b.g, a.gx + b.gx};
    return c;
  }
  GR_HD Acc2 init2() const { return NoAcc{0}; }
  GR_HD Acc2 load2(const Row&, idx_t, const Acc&) const { return NoAcc{0}; }
  GR_HD Acc2 combine2(Acc2 a, Acc2) const { return a; }
  GR_HD Fin finish(const Row& r, const Acc& a, const Acc2&) const {
    Fin f = {a.g, a.gx, (double)gamma[r.ch] * r.invstd / (double)sh.count()};
    return f;
  }
  GR_HD void write(const Row& r, const Fin& f, idx_t k) const {
    idx_t o = sh.at(r.ch, k);
    double m = (double)sh.count();
    dx[o] = Store<T>::from(f.f * (m * (double)gy[o] - f.sg - ((double)x[o] - r.mean) * r.invstd * f.sgx));
  }
  GR_HD void write_row(idx_t ch, const Row&, const Fin& f) const {
    dbeta[ch] = Store<T>::from(f.sg);
    dgamma[ch] = Store<T>::from(f.sgx);
  }
};

}  // namespace gr
