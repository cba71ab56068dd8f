// The optimizer updates of optim_impl.h built for AVX512 (binding.gyp: the gradreg_cpu_isa_avx512 library,
// AVX512 flags and -ffp-contract=off); optim.cc calls them when the active ISA is AVX512.
#define GR_OPT_ENTRY(name) name##_avx512
#include "optim_impl.h"
