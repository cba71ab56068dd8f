// Reductions over any set of axes (accumulating in double, like the reference) and the
// arg-reductions along one axis.
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels.h"
#include "nditer.h"

namespace gr {
namespace {

template <int OP>
inline double combine(double acc, double v) {
  if (OP == kSum) return acc + v;
  if (OP == kMax) return (v > acc || v != v) ? v : acc;
  return (v < acc || v != v) ? v : acc;
}

template <int OP>
constexpr double init_value() {
  return OP == kSum ? 0.0 : (OP == kMax ? -std::numeric_limits<double>::infinity()
                                          : std::numeric_limits<double>::infinity());
}

// Walk x over dims of `it` restricted to the first collapsed dim in [b, e), folding into acc
// (indexed by output offset, operand 1 of the iterator).
template <class T, int OP>
void reduce_range(const NdIter<2>& it, const T* x, double* acc, long b, long e) {
  long inner = 1;
  for (int d = 1; d < it.rank; d++) inner *= it.shape[d];
  it.runs(b * inner, e * inner, [&](const long* off, const long* st, long len) {
    const T* px = x + off[0];
    double* pa = acc + off[1];
    if (st[1] == 0) {
      if (OP == kSum) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        long i = 0;
        for (; i + 3 < len; i += 4) {
          s0 += px[i];
          s1 += px[i + 1];
          s2 += px[i + 2];
          s3 += px[i + 3];
        }
        for (; i < len; i++) s0 += px[i];
        *pa += (s0 + s1) + (s2 + s3);
      } else {
        double a = *pa;
        for (long i = 0; i < len; i++) a = combine<OP>(a, static_cast<double>(px[i]));
        *pa = a;
      }
    } else {
      for (long i = 0; i < len; i++) pa[i] = combine<OP>(pa[i], static_cast<double>(px[i]));
    }
  });
}

template <class T, int OP>
void reduce_t(int r, const long* shape, const int* reduced, const T* x, T* out) {
  long xs[MAX_RANK], os[MAX_RANK], oshape[MAX_RANK];
  dense_strides(r, shape, xs);
  for (int d = 0; d < r; d++) oshape[d] = reduced[d] ? 1 : shape[d];
  dense_strides(r, oshape, os);
  for (int d = 0; d < r; d++)
    if (reduced[d]) os[d] = 0;
  long on = 1;
  for (int d = 0; d < r; d++) on *= oshape[d];
  const long* strides[2] = {xs, os};
  NdIter<2> it;
  it.init(r, shape, strides);
  const long n = it.size();
  const long d0 = it.shape[0];
  const bool firstKept = it.st[1][0] != 0;
  const int nt = num_threads();
  std::vector<double> acc(on, init_value<OP>());
  if (n < EW_GRAIN || nt <= 1 || d0 < 2) {
    reduce_range<T, OP>(it, x, acc.data(), 0, d0);
  } else if (firstKept) {
    parallel_for(d0, 1, [&](long b, long e) { reduce_range<T, OP>(it, x, acc.data(), b, e); });
  } else {
    // Reduced leading dim: each thread folds a slab into its own partial, then partials combine.
    const int parts = static_cast<int>(d0 < nt ? d0 : nt);
    std::vector<std::vector<double>> part(parts - 1, std::vector<double>(on, init_value<OP>()));
    parallel_for(parts, 1, [&](long b, long e) {
      for (long t = b; t < e; t++) {
        double* a = t == 0 ? acc.data() : part[t - 1].data();
        reduce_range<T, OP>(it, x, a, d0 * t / parts, d0 * (t + 1) / parts);
      }
    });
    for (auto& p : part)
      for (long i = 0; i < on; i++) acc[i] = combine<OP>(acc[i], p[i]);
  }
  for (long i = 0; i < on; i++) out[i] = static_cast<T>(acc[i]);
}

template <class T>
void reduce_dispatch(int op, int r, const long* shape, const int* reduced, const T* x, T* out) {
  if (op == kSum) reduce_t<T, kSum>(r, shape, reduced, x, out);
  else if (op == kMax) reduce_t<T, kMax>(r, shape, reduced, x, out);
  else reduce_t<T, kMin>(r, shape, reduced, x, out);
}

template <class T>
void argreduce_t(int op, const T* x, int32_t* out, long outer, long len, long inner) {
  parallel_for(outer * inner, 4096, [&](long b, long e) {
    for (long q = b; q < e; q++) {
      const long o = q / inner, j = q - o * inner;
      const T* p = x + o * len * inner + j;
      T best = p[0];
      int32_t bi = 0;
      for (long k = 1; k < len; k++) {
        const T v = p[k * inner];
        // the first extremum wins; a NaN counts as the extremum, as in max/min
        if ((op == kArgmax ? v > best : v < best) || (v != v && best == best)) {
          best = v;
          bi = static_cast<int32_t>(k);
        }
      }
      out[q] = bi;
    }
  });
}

}  // namespace

void k_reduce(int dt, int op, int r, const long* shape, const int* reduced, const void* x, void* out) {
  if (dt == kFloat32) reduce_dispatch(op, r, shape, reduced, static_cast<const float*>(x), static_cast<float*>(out));
  else if (dt == kFloat64) reduce_dispatch(op, r, shape, reduced, static_cast<const double*>(x), static_cast<double*>(out));
  else reduce_dispatch(op, r, shape, reduced, static_cast<const int32_t*>(x), static_cast<int32_t*>(out));
}

void k_arg_reduce(int dt, int op, const void* x, int32_t* out, long outer, long len, long inner) {
  if (dt == kFloat32) argreduce_t(op, static_cast<const float*>(x), out, outer, len, inner);
  else if (dt == kFloat64) argreduce_t(op, static_cast<const double*>(x), out, outer, len, inner);
  else argreduce_t(op, static_cast<const int32_t*>(x), out, outer, len, inner);
}

}  // namespace gr
