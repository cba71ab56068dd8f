// Float-kernel entry points: run the float32 or float64 instantiation by the dtype code `dt`, with
// casts of the untyped pointers the addon passes. For the .cc files' k_* functions only.
#pragma once

#define GR_DT(call_f32, call_f64) \
  if (dt == kFloat32) {                \
    call_f32;                     \
  } else {                        \
    call_f64;                     \
  }
#define F(p) static_cast<const float*>(p)
#define D(p) static_cast<const double*>(p)
#define FO(p) static_cast<float*>(p)
#define DO(p) static_cast<double*>(p)
