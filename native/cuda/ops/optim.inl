// Dispatcher: applyUpdate (fused optimizer step, in place).
#pragma once
#include "../kernels/optim.cuh"
#include "registry.hpp"

namespace gr {

/** Buffers: param, grad, then the rule's state buffers (none, one, or two for Adam). */
template <class Exec> void op_apply_update(Exec& ex, Call& c) {
  int rule = c.code(6, "update rule"), dt = read_dtype(c);
  idx_t n = c.integer();
  double h[9];
  for (double& v : h) v = c.num();
  c.done();
  size_t states = rule == kSgd ? 0 : (rule == kAdam ? 2 : 1);
  if (c.buffers() != 2 + states) c.bad("rule needs " + std::to_string(states) + " state buffers");
  with_float_dtype(c, dt, [&](auto tag) {
    using T = decltype(tag);
    UpdateFn<T> f{rule, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], c.buf<T>(0, n), c.buf<T>(1, n),
                  states > 0 ? c.buf<T>(2, n) : nullptr, states > 1 ? c.buf<T>(3, n) : nullptr};
    ex.for_each(c.kernel(), n, f);
  });
}

template <class Exec> void register_optim(Registry<Exec>& r) { r["applyUpdate"] = &op_apply_update<Exec>; }

}  // namespace gr
