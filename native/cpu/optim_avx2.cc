// The optimizer updates of optim_impl.h built for AVX2 (binding.gyp: the gradreg_cpu_isa_avx2 library,
// AVX2 flags and -ffp-contract=off); optim.cc calls them when the active ISA is AVX2.
#define GR_OPT_ENTRY(name) name##_avx2
#include "optim_impl.h"
