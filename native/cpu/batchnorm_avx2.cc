// The batch-norm kernels of batchnorm_impl.h built for AVX2 (32-byte vectors), in the
// gradreg_cpu_isa_avx2 static library (binding.gyp: AVX2 flags and -ffp-contract=off); batchnorm.cc
// calls them when the active ISA is AVX2.
#define GR_BN_VEC 32
#define GR_BN_ENTRY(name) name##_avx2
#include "batchnorm_impl.h"
