// The kernel table: kernel name -> dispatcher. Each family's dispatchers (ops/*.inl) decode a
// Call's parameters, build the functors of kernels/ and hand them to an executor, GpuExec or
// HostExec; the same dispatcher source is compiled for both.
#pragma once
#include <stdint.h>
#include <string.h>

#include <string>
#include <unordered_map>

#include "../kernels/common.cuh"
#include "../runtime/call.hpp"
#include "../runtime/shapes.hpp"

namespace gr {

template <class Exec> using KernelFn = void (*)(Exec&, Call&);
template <class Exec> using Registry = std::unordered_map<std::string, KernelFn<Exec>>;

template <class Exec> void register_elementwise(Registry<Exec>& r);
template <class Exec> void register_reduce(Registry<Exec>& r);
template <class Exec> void register_layout(Registry<Exec>& r);
template <class Exec> void register_matmul(Registry<Exec>& r);
template <class Exec> void register_conv(Registry<Exec>& r);
template <class Exec> void register_pool(Registry<Exec>& r);
template <class Exec> void register_batchnorm(Registry<Exec>& r);
template <class Exec> void register_softmax(Registry<Exec>& r);
template <class Exec> void register_optim(Registry<Exec>& r);

template <class Exec> Registry<Exec> make_registry() {
  Registry<Exec> r;
  register_elementwise(r);
  register_reduce(r);
  register_layout(r);
  register_matmul(r);
  register_conv(r);
  register_pool(r);
  register_batchnorm(r);
  register_softmax(r);
  register_optim(r);
  return r;
}

/** Call fn(T{}) with T the element type of dtype code `dt`. */
template <class Fn> void with_dtype(Call& c, int dt, Fn&& fn) {
  switch (dt) {
    case kFloat32: fn(float{}); break;
    case kFloat64: fn(double{}); break;
    case kInt32: fn(int32_t{}); break;
    default: c.bad("unknown dtype code " + std::to_string(dt));
  }
}

/** Float dtypes only: kernels that make no sense for int32 (pooling, softmax, optimizers). */
template <class Fn> void with_float_dtype(Call& c, int dt, Fn&& fn) {
  switch (dt) {
    case kFloat32: fn(float{}); break;
    case kFloat64: fn(double{}); break;
    default: c.bad("dtype " + std::string(dt == kInt32 ? "int32" : std::to_string(dt)) + " is not supported (float32 or float64)");
  }
}

inline int read_dtype(Call& c) { return c.code(3, "dtype"); }

}  // namespace gr
