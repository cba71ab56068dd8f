// cuBLAS, opened at run time: the addon builds where only nvcc and cudart are installed (as on
// CI), and uses cuBLAS for float GEMM wherever the library is present. The declarations below are
// the stable C ABI of the few entry points used (handles are pointers, enums are ints).
#pragma once
#include <cuda_runtime.h>

#include <string>

namespace gr {

struct Cublas {
  using Handle = void*;
  using CreateFn = int (*)(Handle*);
  using DestroyFn = int (*)(Handle);
  using SetStreamFn = int (*)(Handle, cudaStream_t);
  using SetMathModeFn = int (*)(Handle, int);
  using StatusStringFn = const char* (*)(int);
  using SgemmStridedFn = int (*)(Handle, int, int, int, int, int, const float*, const float*, int, long long,
                                 const float*, int, long long, const float*, float*, int, long long, int);
  using DgemmStridedFn = int (*)(Handle, int, int, int, int, int, const double*, const double*, int, long long,
                                 const double*, int, long long, const double*, double*, int, long long, int);

  static constexpr int kOpN = 0;
  static constexpr int kOpT = 1;
  static constexpr int kDefaultMath = 0;

  void* lib = nullptr;
  Handle handle = nullptr;
  std::string soname;
  /** Why cuBLAS is not used, when it is not. */
  std::string missing;
  DestroyFn destroy = nullptr;
  StatusStringFn statusString = nullptr;
  SgemmStridedFn sgemm = nullptr;
  DgemmStridedFn dgemm = nullptr;

  /** Open the newest libcublas found and bind it to `stream`; on failure leave `missing` set. */
  void open(cudaStream_t stream);
  void close();
  bool ready() const { return handle != nullptr; }
  /** Throw a GR_CUBLAS failure naming the kernel when `status` is not success. */
  void check(int status, const char* kernel, const char* call) const;
};

}  // namespace gr
