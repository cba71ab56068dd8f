// One kernel launch as it arrives from JavaScript: the kernel's name, its buffers (outputs first)
// and a flat list of numeric parameters, read in order by the kernel's dispatcher.
#pragma once
#include <math.h>
#include <stddef.h>

#include <string>
#include <vector>

#include "../kernels/common.cuh"
#include "errors.hpp"

namespace gr {

struct BufView {
  void* ptr;
  size_t bytes;
};

class Call {
 public:
  Call(std::string kernel, std::vector<BufView> bufs, const double* params, size_t count)
      : kernel_(std::move(kernel)), bufs_(std::move(bufs)), p_(params), n_(count) {}

  const char* kernel() const { return kernel_.c_str(); }

  double num() {
    if (at_ >= n_) bad("expected more than " + std::to_string(n_) + " parameters");
    return p_[at_++];
  }

  /** The next parameter as an integer (it must be one). */
  idx_t integer() {
    double v = num();
    if (!(v == floor(v)) || fabs(v) > 9007199254740992.0) bad("parameter " + std::to_string(at_ - 1) + " is not an integer");
    return (idx_t)v;
  }

  /** A non-negative integer below `limit` (exclusive), e.g. an op code or a dtype. */
  int code(int limit, const char* what) {
    idx_t v = integer();
    if (v < 0 || v >= limit) bad(std::string("unknown ") + what + " code " + std::to_string(v));
    return (int)v;
  }

  /** A shape sent as its rank followed by its dims. */
  std::vector<idx_t> shape() {
    idx_t r = integer();
    if (r < 0 || r > 64) bad("bad rank " + std::to_string(r));
    std::vector<idx_t> s((size_t)r);
    for (auto& d : s) {
      d = integer();
      if (d < 0) bad("negative dimension");
    }
    return s;
  }

  size_t buffers() const { return bufs_.size(); }

  /** Buffer k as T*, checked to hold at least `count` elements. */
  template <class T> T* buf(size_t k, idx_t count) {
    if (k >= bufs_.size()) bad("expected at least " + std::to_string(k + 1) + " buffers, got " + std::to_string(bufs_.size()));
    if ((double)bufs_[k].bytes < (double)count * (double)sizeof(T))
      bad("buffer " + std::to_string(k) + " holds " + std::to_string(bufs_[k].bytes) + " bytes, needs " +
          std::to_string((double)count * sizeof(T)));
    return static_cast<T*>(bufs_[k].ptr);
  }

  /** Every parameter must have been read: a longer list means the two sides disagree. */
  void done() const {
    if (at_ != n_) bad("got " + std::to_string(n_) + " parameters, used " + std::to_string(at_));
  }

  [[noreturn]] void bad(const std::string& why) const { fail("GR_ARGUMENT", "kernel '" + kernel_ + "': " + why); }

 private:
  std::string kernel_;
  std::vector<BufView> bufs_;
  const double* p_;
  size_t n_;
  size_t at_ = 0;
};

}  // namespace gr
