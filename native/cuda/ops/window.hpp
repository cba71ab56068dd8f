// Reading a WindowGeom (conv, im2col, pooling) from a Call.
#pragma once
#include "../kernels/conv.cuh"
#include "../runtime/call.hpp"

namespace gr {

/** The 12 numbers of a WindowGeom in backend.ts order: n c h w kh kw sh sw ph pw oh ow. */
inline Window read_window(Call& c) {
  Window g{};
  idx_t* f[] = {&g.n, &g.c, &g.h, &g.w, &g.kh, &g.kw, &g.sh, &g.sw, &g.ph, &g.pw, &g.oh, &g.ow};
  for (idx_t* p : f) {
    *p = c.integer();
    if (*p < 0) c.bad("negative window geometry");
  }
  if (g.sh < 1 || g.sw < 1) c.bad("strides must be >= 1");
  return g;
}

}  // namespace gr
