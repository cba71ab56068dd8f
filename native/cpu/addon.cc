// N-API binding of the native CPU backend. Calls are made cheap by passing arguments through a
// shared Float64Array parameter block (pointers travel as exact doubles: x86-64 user addresses fit
// in 53 bits), so a kernel call is one N-API call with no argument conversion or allocation.
// Storage is native, 64-byte aligned memory exposed to JavaScript as external ArrayBuffers.
#include <napi.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <utility>
#include <string>

#include <cerrno>
#include <cstdio>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"
#include "kernels.h"

namespace {

constexpr size_t PARAMS = 4096;
double* P = nullptr;

template <class T = void>
inline T* ptr(size_t i) {
  return reinterpret_cast<T*>(static_cast<uintptr_t>(P[i]));
}
inline long L(size_t i) { return static_cast<long>(P[i]); }
inline int I(size_t i) { return static_cast<int>(P[i]); }

// Copies `n` shape entries starting at P[i] into dst.
inline void shape_at(size_t i, long n, long* dst) {
  for (long k = 0; k < n; k++) dst[k] = L(i + k);
}

// Copies consecutive lists {length, destination} from P[i] on (the block's dims(...) runs).
inline void lists_at(size_t i, std::initializer_list<std::pair<long, long*>> lists) {
  for (const auto& [n, dst] : lists) {
    shape_at(i, n, dst);
    i += n;
  }
}

gr::Geom geom_at(size_t i) {
  return gr::Geom{L(i), L(i + 1), L(i + 2), L(i + 3), L(i + 4), L(i + 5), L(i + 6), L(i + 7), L(i + 8), L(i + 9),
                  L(i + 10), L(i + 11)};
}

// Each block's memory is owned by a small control record: the pool frees a block explicitly when it
// drops it (detaching the ArrayBuffer first, so no view can reach freed memory), and the GC
// finalizer frees whatever was not freed that way. V8 is told about the external bytes so that
// unreachable blocks also create GC pressure.
struct Block {
  void* mem;
  size_t bytes;
};

// Large blocks are mapped directly, so freeing one always returns its pages to the system: through
// malloc, a stream of multi-megabyte buffers of varying sizes fragments the heap and the RSS only grows.
constexpr size_t MAP_MIN = 256 * 1024;

void* block_alloc(size_t bytes) {
  if (bytes >= MAP_MIN) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  return std::aligned_alloc(64, bytes);
}

void block_free(void* p, size_t bytes) {
  if (bytes >= MAP_MIN) munmap(p, bytes);
  else std::free(p);
}

void finalize_block(Napi::Env env, void*, Block* b) {
  if (b->mem) {
    block_free(b->mem, b->bytes);
    Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(b->bytes));
  }
  delete b;
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
  size_t rounded = (bytes + 63) & ~size_t(63);
  if (rounded == 0) rounded = 64;
  void* p = block_alloc(rounded);
  if (!p) {
    Napi::Error::New(info.Env(), "native: out of memory allocating " + std::to_string(bytes) + " bytes")
        .ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  P[0] = static_cast<double>(reinterpret_cast<uintptr_t>(p));
  Block* b = new Block{p, rounded};
  P[1] = static_cast<double>(reinterpret_cast<uintptr_t>(b));
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), static_cast<int64_t>(rounded));
  return Napi::ArrayBuffer::New(info.Env(), p, rounded, finalize_block, b);
}

// free(arrayBuffer, handle): detach the buffer (its views become empty) and free its memory now;
// `handle` is the control record alloc() left in params[1].
void Free(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  Block* b = reinterpret_cast<Block*>(static_cast<uintptr_t>(info[1].As<Napi::Number>().DoubleValue()));
  if (ab.IsDetached() || !b->mem) return;
  ab.Detach();
  block_free(b->mem, b->bytes);
  b->mem = nullptr;
  Napi::MemoryManagement::AdjustExternalMemory(info.Env(), -static_cast<int64_t>(b->bytes));
}

#define KERNEL(name) void name(const Napi::CallbackInfo&)

KERNEL(Unary) { gr::k_unary(I(0), I(1), ptr(2), ptr(3), L(4), P[5]); }

KERNEL(Binary) {
  long os[16], as[16], bs[16];
  const int r = I(5), ra = I(6), rb = I(7);
  lists_at(8, {{r, os}, {ra, as}, {rb, bs}});
  gr::k_binary(I(0), I(1), r, os, ptr(2), ra, as, ptr(3), rb, bs, ptr(4));
}

KERNEL(BinaryScalar) { gr::k_binary_scalar(I(0), I(1), ptr(2), ptr(3), L(4), P[5], P[6] != 0); }

KERNEL(Where) {
  long os[16], cs[16], as[16], bs[16];
  const int r = I(6), rc = I(7), ra = I(8), rb = I(9);
  lists_at(10, {{r, os}, {rc, cs}, {ra, as}, {rb, bs}});
  gr::k_where(I(0), ptr(2), rc, cs, I(1), ptr(3), ra, as, ptr(4), rb, bs, ptr(5), r, os);
}

KERNEL(Cast) { gr::k_cast(I(0), ptr(2), I(1), ptr(3), L(4)); }
KERNEL(Fill) { gr::k_fill(I(0), ptr(1), L(2), P[3]); }
KERNEL(Random) {
  gr::k_random(I(0), ptr(1), L(2), I(3), static_cast<uint32_t>(P[4]), static_cast<uint32_t>(P[5]),
               static_cast<uint32_t>(P[6]), P[7], P[8], P[9]);
}

KERNEL(Reduce) {
  long shape[16];
  int red[16];
  const int r = I(4);
  shape_at(5, r, shape);
  for (int d = 0; d < r; d++) red[d] = I(5 + r + d);
  gr::k_reduce(I(0), I(1), r, shape, red, ptr(2), ptr(3));
}

KERNEL(ArgReduce) { gr::k_arg_reduce(I(0), I(1), ptr(2), ptr<int32_t>(3), L(4), L(5), L(6)); }

KERNEL(Copy) {
  long shape[16], ss[16], ds[16];
  const int r = I(3);
  lists_at(4, {{r, shape}, {r, ss}, {r, ds}});
  gr::k_copy(I(0), r, shape, ptr(1), ss, ptr(2), ds);
}

KERNEL(Matmul) {
  long ob[16], ab[16], bb[16];
  const int br = I(9);
  lists_at(10, {{br, ob}, {br, ab}, {br, bb}});
  gr::k_matmul(I(0), ptr(1), ptr(2), ptr(3), P[4] != 0, P[5] != 0, L(6), L(7), L(8), br, ob, ab, bb);
}

KERNEL(MatmulSum) {
  gr::k_matmul_sum(I(0), ptr(1), ptr(2), ptr(3), P[4] != 0, P[5] != 0, L(6), L(7), L(8), L(9));
}

KERNEL(Im2col) { gr::k_im2col(I(0), ptr(1), ptr(2), geom_at(3)); }
KERNEL(Col2im) { gr::k_col2im(I(0), ptr(1), ptr(2), geom_at(3)); }
// params: dt, in0, in1, out, geometry (12), output channels
KERNEL(Conv2d) { gr::k_conv2d(I(0), ptr(1), ptr(2), ptr(3), geom_at(4), L(16)); }
KERNEL(Conv2dBackwardInput) { gr::k_conv2d_backward_input(I(0), ptr(1), ptr(2), ptr(3), geom_at(4), L(16)); }
KERNEL(Conv2dBackwardWeight) { gr::k_conv2d_backward_weight(I(0), ptr(1), ptr(2), ptr(3), geom_at(4), L(16)); }
KERNEL(MaxPool2d) { gr::k_max_pool2d(I(0), ptr(1), ptr(2), ptr<int32_t>(3), geom_at(4)); }
KERNEL(MaxPoolGather) { gr::k_max_pool_gather(I(0), ptr(1), ptr<int32_t>(2), ptr(3), geom_at(4), L(16)); }
KERNEL(MaxPoolScatter) { gr::k_max_pool_scatter(I(0), ptr(1), ptr<int32_t>(2), ptr(3), geom_at(4), L(16)); }
KERNEL(AvgPool2d) { gr::k_avg_pool2d(I(0), ptr(1), ptr(2), geom_at(3)); }
KERNEL(AvgPool2dBackward) { gr::k_avg_pool2d_backward(I(0), ptr(1), ptr(2), geom_at(3)); }

KERNEL(BatchNormForward) {
  gr::k_batch_norm_forward(I(0), ptr(1), ptr(2), ptr(3), P[4], L(5), L(6), L(7), ptr(8), ptr(9), ptr(10));
}
KERNEL(BatchNormBackward) {
  gr::k_batch_norm_backward(I(0), ptr(1), ptr(2), ptr(3), ptr(4), ptr(5), P[6], L(7), L(8), L(9), L(13), ptr(10), ptr(11),
                            ptr(12), ptr(14));
}

KERNEL(BatchNormDoubleBackward) {
  gr::k_batch_norm_double_backward(I(0), ptr(1), ptr(2), ptr(3), ptr(4), ptr(5), ptr(6), P[7], L(8), L(9), L(10), L(14),
                                   ptr(11), ptr(12), ptr(13), ptr(15));
}

KERNEL(Softmax) { gr::k_softmax(I(0), ptr(1), ptr(2), L(3), L(4), P[5] != 0); }
KERNEL(SoftmaxHvp) { gr::k_softmax_hvp(I(0), ptr(1), ptr(2), ptr(3), L(4), L(5)); }
KERNEL(CrossEntropy) { gr::k_cross_entropy(I(0), ptr(1), ptr<int32_t>(2), ptr(3), L(4), L(5)); }
KERNEL(SoftmaxCrossEntropyGrad) { gr::k_softmax_cross_entropy_grad(I(0), ptr(1), ptr<int32_t>(2), ptr(3), L(4), L(5)); }
KERNEL(OneHot) { gr::k_one_hot(ptr<int32_t>(0), L(1), L(2), I(3), ptr(4)); }

KERNEL(ApplyUpdate) {
  gr::UpdateParams p{P[7], P[8], P[9], P[10], P[11], P[12], P[13], P[14]};
  gr::k_apply_update(I(0), I(1), ptr(2), ptr(3), ptr(4), ptr(5), L(6), p);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", gr::isa_name(gr::isa_active()));
  Napi::Array sup = Napi::Array::New(env);
  uint32_t k = 0;
  for (int isa = 0; isa <= 2; isa++)
    if (gr::isa_supported(isa)) sup.Set(k++, gr::isa_name(isa));
  o.Set("supported", sup);
  o.Set("threads", gr::num_threads());
  return o;
}

int isa_from_name(const std::string& s) {
  if (s == "avx512") return gr::ISA_AVX512;
  if (s == "avx2") return gr::ISA_AVX2;
  if (s == "portable") return gr::ISA_PORTABLE;
  return -1;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  int isa = isa_from_name(info[0].As<Napi::String>().Utf8Value());
  return Napi::Boolean::New(info.Env(), isa >= 0 && gr::isa_select(isa));
}

void SetThreads(const Napi::CallbackInfo& info) { gr::set_num_threads(info[0].As<Napi::Number>().Int32Value()); }

// 0 auto, 1 im2col chunks, 2 implicit GEMM, 3 direct convolution (where they apply), 4 Winograd
// F(2x2, 3x3) or 6 F(4x4, 3x3) (where it applies, auto elsewhere), 5 the pixel-major batch GEMM,
// 7 the polyphase input gradient of strided layers (where it applies, auto elsewhere but Winograd);
// returns the previous mode.
Napi::Value SetConvMode(const Napi::CallbackInfo& info) {
  const int prev = gr::conv_mode();
  gr::set_conv_mode(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), prev);
}

// Measured peak of the active ISA's FMA units: independent FMA chains on every thread, in GFLOP/s.
Napi::Value ProbePeak(const Napi::CallbackInfo& info) {
  const int isa = gr::isa_active();
  if (isa == gr::ISA_PORTABLE) return info.Env().Null();
  const long iters = static_cast<long>(info[0].As<Napi::Number>().Int64Value());
  const int nt = gr::num_threads();
  double flops[256] = {0};
  auto t0 = std::chrono::steady_clock::now();
  gr::parallel_for(nt, 1, [&](long b, long e) {
    for (long t = b; t < e; t++) flops[t] = isa == gr::ISA_AVX512 ? gr::probe_avx512(iters) : gr::probe_avx2(iters);
  });
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (int t = 0; t < nt; t++) total += flops[t];
  return Napi::Number::New(info.Env(), total / sec / 1e9);
}

// Native libraries loaded into this process (Dawn, the Vulkan loader) print straight to file
// descriptor 2, which JavaScript cannot intercept. StderrRedirect(path) points fd 2 at `path`
// (created, truncated) and returns a close-on-exec copy of the previous fd 2, or -errno;
// StderrRestore(saved) puts it back. The caller reads the file and decides what to show.
Napi::Value StderrRedirect(const Napi::CallbackInfo& info) {
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  std::fflush(stderr);
  const int saved = fcntl(2, F_DUPFD_CLOEXEC, 3);
  if (saved < 0) return Napi::Number::New(info.Env(), -errno);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int e = errno;
    close(saved);
    return Napi::Number::New(info.Env(), -e);
  }
  if (dup2(fd, 2) < 0) {
    const int e = errno;
    close(fd);
    close(saved);
    return Napi::Number::New(info.Env(), -e);
  }
  close(fd);
  return Napi::Number::New(info.Env(), saved);
}

Napi::Value StderrRestore(const Napi::CallbackInfo& info) {
  const int saved = info[0].As<Napi::Number>().Int32Value();
  std::fflush(stderr);
  const bool ok = dup2(saved, 2) >= 0;
  close(saved);
  return Napi::Boolean::New(info.Env(), ok);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  P = static_cast<double*>(std::aligned_alloc(64, PARAMS * sizeof(double)));
  std::memset(P, 0, PARAMS * sizeof(double));
  Napi::ArrayBuffer pb = Napi::ArrayBuffer::New(env, P, PARAMS * sizeof(double));
  exports.Set("params", Napi::Float64Array::New(env, PARAMS, pb, 0));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
#define EXPORT(js, fn) exports.Set(js, Napi::Function::New(env, fn));
  EXPORT("unary", Unary) EXPORT("binary", Binary) EXPORT("binaryScalar", BinaryScalar) EXPORT("where", Where)
  EXPORT("cast", Cast) EXPORT("fill", Fill) EXPORT("random", Random) EXPORT("reduce", Reduce)
  EXPORT("argReduce", ArgReduce) EXPORT("copy", Copy) EXPORT("matmul", Matmul) EXPORT("matmulSum", MatmulSum) EXPORT("im2col", Im2col)
  EXPORT("col2im", Col2im) EXPORT("conv2d", Conv2d) EXPORT("conv2dBackwardInput", Conv2dBackwardInput)
  EXPORT("conv2dBackwardWeight", Conv2dBackwardWeight) EXPORT("maxPool2d", MaxPool2d) EXPORT("maxPoolGather", MaxPoolGather)
  EXPORT("maxPoolScatter", MaxPoolScatter) EXPORT("avgPool2d", AvgPool2d) EXPORT("avgPool2dBackward", AvgPool2dBackward)
  EXPORT("batchNormForward", BatchNormForward) EXPORT("batchNormBackward", BatchNormBackward) EXPORT("batchNormDoubleBackward", BatchNormDoubleBackward) EXPORT("softmax", Softmax)
  EXPORT("softmaxHvp", SoftmaxHvp) EXPORT("crossEntropy", CrossEntropy) EXPORT("softmaxCrossEntropyGrad", SoftmaxCrossEntropyGrad)
  EXPORT("oneHot", OneHot) EXPORT("applyUpdate", ApplyUpdate) EXPORT("info", Info) EXPORT("setIsa", SetIsa)
  EXPORT("setThreads", SetThreads) EXPORT("setConvMode", SetConvMode) EXPORT("probePeak", ProbePeak)
  EXPORT("stderrRedirect", StderrRedirect) EXPORT("stderrRestore", StderrRestore)
#undef EXPORT
  return exports;
}

}  // namespace

NODE_API_MODULE(gradreg_cpu, Init)
