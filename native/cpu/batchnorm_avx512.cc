// The batch-norm kernels of batchnorm_impl.h built for AVX512 (64-byte vectors), in the
// gradreg_cpu_isa_avx512 static library (binding.gyp: AVX512 flags and -ffp-contract=off); batchnorm.cc
// calls them when the active ISA is AVX512.
#define GR_BN_VEC 64
#define GR_BN_ENTRY(name) name##_avx512
#include "batchnorm_impl.h"
