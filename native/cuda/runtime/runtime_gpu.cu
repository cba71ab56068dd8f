// The CUDA runtime: one device, one non-blocking stream, a caching allocator, pinned staging
// buffers for asynchronous copies, cuBLAS when the library is present. Every CUDA call is checked
// and a failure names the kernel or call it happened in.
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <deque>
#include <unordered_map>

#include "../ops/registry.hpp"
#include "exec_gpu.cuh"
#include "runtime.hpp"

namespace gr {

void cuda_check(cudaError_t e, const std::string& where, const char* call) {
  if (e == cudaSuccess) return;
  std::string code = e == cudaErrorMemoryAllocation ? "GR_OOM" : "GR_CUDA";
  fail(code.c_str(), where + ": " + call + " failed: " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

// ---- cuBLAS, opened at run time ----

void Cublas::open(cudaStream_t stream) {
  const char* names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"};
  for (const char* n : names) {
    lib = dlopen(n, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      soname = n;
      break;
    }
  }
  if (!lib) {
    missing = "libcublas not found (tried libcublas.so.13, .12, .11)";
    return;
  }
  auto create = reinterpret_cast<CreateFn>(dlsym(lib, "cublasCreate_v2"));
  auto setStream = reinterpret_cast<SetStreamFn>(dlsym(lib, "cublasSetStream_v2"));
  auto setMath = reinterpret_cast<SetMathModeFn>(dlsym(lib, "cublasSetMathMode"));
  destroy = reinterpret_cast<DestroyFn>(dlsym(lib, "cublasDestroy_v2"));
  statusString = reinterpret_cast<StatusStringFn>(dlsym(lib, "cublasGetStatusString"));
  sgemm = reinterpret_cast<SgemmStridedFn>(dlsym(lib, "cublasSgemmStridedBatched"));
  dgemm = reinterpret_cast<DgemmStridedFn>(dlsym(lib, "cublasDgemmStridedBatched"));
  if (!create || !setStream || !setMath || !destroy || !sgemm || !dgemm) {
    missing = soname + " lacks a needed symbol";
    return;
  }
  Handle h = nullptr;
  int st = create(&h);
  if (st != 0) {
    missing = "cublasCreate failed with status " + std::to_string(st);
    return;
  }
  // Default math: no TF32, so float32 GEMM stays IEEE single precision like the other backends.
  if (setStream(h, stream) != 0 || setMath(h, kDefaultMath) != 0) {
    destroy(h);
    missing = "cublasSetStream/cublasSetMathMode failed";
    return;
  }
  handle = h;
}

void Cublas::close() {
  if (handle && destroy) destroy(handle);
  handle = nullptr;
}

void Cublas::check(int status, const char* kernel, const char* call) const {
  if (status == 0) return;
  std::string why = statusString ? statusString(status) : "status " + std::to_string(status);
  fail("GR_CUBLAS", std::string("kernel '") + kernel + "': " + call + " failed: " + why);
}

namespace {

#define GR_CHECK(expr, what) cuda_check((expr), (what), #expr)

/** Round a request up to its size class: 512 B steps below 1 MiB, then eighths of a power of two. */
size_t size_class(size_t b) {
  if (b <= 512) return 512;
  if (b < (1u << 20)) return (b + 511) & ~(size_t)511;
  size_t p = 1;
  while (p * 2 <= b) p *= 2;
  size_t step = p / 8;
  return (b + step - 1) / step * step;
}

/**
 * Caching allocator. Freed blocks go to a free list per size class and are reused by later
 * allocations of that class; with a single stream, reuse is ordered after every earlier use.
 * When cudaMalloc fails the cache is returned to the driver and the allocation retried.
 */
class CachingAllocator : public ScratchPool {
 public:
  explicit CachingAllocator(cudaStream_t s) : stream_(s) {}

  void* acquire(size_t bytes, size_t* cls) override { return get(bytes, cls); }
  void release(void* p, size_t cls) override { put(p, cls); }

  void* get(size_t bytes, size_t* cls) {
    *cls = size_class(bytes);
    auto it = free_.find(*cls);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      cached_ -= *cls;
      return p;
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, *cls);
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      empty_cache();
      e = cudaMalloc(&p, *cls);
    }
    if (e == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail("GR_OOM", "alloc: out of device memory allocating " + std::to_string(bytes) + " bytes (" +
                         std::to_string(live_) + " bytes live; cache emptied)");
    }
    cuda_check(e, "alloc", "cudaMalloc");
    ++deviceAllocs_;
    return p;
  }

  void put(void* p, size_t cls) {
    free_[cls].push_back(p);
    cached_ += cls;
  }

  void empty_cache() {
    GR_CHECK(cudaStreamSynchronize(stream_), "alloc");
    for (auto& kv : free_)
      for (void* p : kv.second) GR_CHECK(cudaFree(p), "alloc");
    free_.clear();
    cached_ = 0;
  }

  size_t live_ = 0, peak_ = 0, cached_ = 0, deviceAllocs_ = 0;

 private:
  cudaStream_t stream_;
  std::unordered_map<size_t, std::vector<void*>> free_;
};

/** A pinned host buffer for one asynchronous copy; reusable once its event has completed. */
struct Staging {
  void* ptr = nullptr;
  size_t capacity = 0;
  cudaEvent_t done = nullptr;
  bool held = false;
};

class GpuRuntime;

struct GpuRead : PendingRead {
  Staging* st;
  size_t bytes;
  int device;
  /** "download (last kernel: ...)": an asynchronous fault of earlier work surfaces here. */
  std::string where;
  GpuRead(Staging* s, size_t b, int d, std::string w) : st(s), bytes(b), device(d), where(std::move(w)) {}
  void wait() override {
    if (!st) return;
    GR_CHECK(cudaSetDevice(device), where);
    GR_CHECK(cudaEventSynchronize(st->done), where);
  }
  void copy_to(void* dst) override {
    if (!st) return;
    memcpy(dst, st->ptr, bytes);
    st->held = false;
  }
  ~GpuRead() override {
    if (st) st->held = false;
  }
};

class GpuRuntime : public Runtime {
 public:
  explicit GpuRuntime(int device) : device_(device), registry_(make_registry<GpuExec>()) {
    GR_CHECK(cudaSetDevice(device_), "init");
    GR_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "init");
    GR_CHECK(cudaGetDeviceProperties(&props_, device_), "init");
    alloc_ = new CachingAllocator(stream_);
    cublas_.open(stream_);
    exec_.stream = stream_;
    exec_.scratch = alloc_;
    exec_.sms = props_.multiProcessorCount > 0 ? props_.multiProcessorCount : 1;
    exec_.cublas = &cublas_;
    const char* sync = getenv("GRADREG_CUDA_SYNC");
    exec_.syncEach = sync && sync[0] == '1';
  }

  uint32_t alloc(size_t bytes) override {
    size_t cls = 0;
    void* p = bytes ? alloc_->get(bytes, &cls) : nullptr;
    alloc_->live_ += cls;
    if (alloc_->live_ > alloc_->peak_) alloc_->peak_ = alloc_->live_;
    ++buffers_;
    return handles_.add(p, bytes, cls);
  }

  void release(uint32_t h) override {
    HandleTable::Slot s = handles_.take(h);
    if (s.ptr) alloc_->put(s.ptr, s.capacity);
    alloc_->live_ -= s.capacity;
    --buffers_;
  }

  void upload(uint32_t h, const void* src, size_t bytes) override {
    HandleTable::Slot& s = handles_.get(h, "upload");
    if (bytes > s.bytes) fail("GR_ARGUMENT", "upload: " + std::to_string(bytes) + " bytes into a buffer of " + std::to_string(s.bytes));
    if (!bytes) return;
    if (bytes > kDirectCopy) {
      // Too big to stage: copy from pageable memory and wait, so `src` may be released on return.
      GR_CHECK(cudaMemcpyAsync(s.ptr, src, bytes, cudaMemcpyHostToDevice, stream_), "upload");
      GR_CHECK(cudaStreamSynchronize(stream_), after_last("upload"));
      return;
    }
    Staging* st = staging(bytes);
    memcpy(st->ptr, src, bytes);
    GR_CHECK(cudaMemcpyAsync(s.ptr, st->ptr, bytes, cudaMemcpyHostToDevice, stream_), "upload");
    GR_CHECK(cudaEventRecord(st->done, stream_), "upload");
    st->held = false;  // reusable once `done` has fired
  }

  std::unique_ptr<PendingRead> download(uint32_t h, size_t bytes) override {
    HandleTable::Slot& s = handles_.get(h, "download");
    if (bytes > s.bytes) fail("GR_ARGUMENT", "download: " + std::to_string(bytes) + " bytes from a buffer of " + std::to_string(s.bytes));
    if (!bytes) return std::unique_ptr<PendingRead>(new GpuRead(nullptr, 0, device_, ""));
    Staging* st = staging(bytes);
    st->held = true;
    GR_CHECK(cudaMemcpyAsync(st->ptr, s.ptr, bytes, cudaMemcpyDeviceToHost, stream_), "download");
    GR_CHECK(cudaEventRecord(st->done, stream_), "download");
    return std::unique_ptr<PendingRead>(new GpuRead(st, bytes, device_, after_last("download")));
  }

  void launch(const std::string& kernel, const std::vector<uint32_t>& hs, const double* params, size_t count) override {
    auto it = registry_.find(kernel);
    if (it == registry_.end()) fail("GR_ARGUMENT", "unknown kernel '" + kernel + "'");
    Call call(kernel, handles_.views(hs, kernel), params, count);
    last_ = kernel;
    it->second(exec_, call);
  }

  void synchronize() override { GR_CHECK(cudaStreamSynchronize(stream_), after_last("synchronize")); }

  std::vector<std::pair<std::string, std::string>> info() override {
    int driver = 0, runtime = 0;
    GR_CHECK(cudaDriverGetVersion(&driver), "deviceInfo");
    GR_CHECK(cudaRuntimeGetVersion(&runtime), "deviceInfo");
    auto ver = [](int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); };
    return {
        {"name", props_.name},
        {"computeCapability", std::to_string(props_.major) + "." + std::to_string(props_.minor)},
        {"totalMemory", std::to_string((double)props_.totalGlobalMem)},
        {"multiprocessors", std::to_string(props_.multiProcessorCount)},
        {"driverVersion", ver(driver)},
        {"runtimeVersion", ver(runtime)},
        {"gemm", cublas_.ready() ? "cuBLAS (" + cublas_.soname + ")" : "tiled kernel (" + cublas_.missing + ")"},
    };
  }

  MemoryStats memory() override {
    MemoryStats m;
    m.liveBytes = (double)alloc_->live_;
    m.liveBuffers = buffers_;
    m.cachedBytes = (double)alloc_->cached_;
    m.peakBytes = (double)alloc_->peak_;
    m.deviceAllocs = (double)alloc_->deviceAllocs_;
    return m;
  }

 private:
  /** Where a wait happens, naming the last kernel enqueued before it (the likely culprit of a fault). */
  std::string after_last(const char* what) const {
    return std::string(what) + " (last kernel: " + (last_.empty() ? std::string("none") : last_) + ")";
  }

  static constexpr size_t kDirectCopy = 64u << 20;
  static constexpr size_t kMaxPinned = 256u << 20;

  /** A free staging buffer of at least `bytes`: reuse one whose copy has finished, else pin a new one. */
  Staging* staging(size_t bytes) {
    for (int pass = 0; pass < 2; ++pass) {
      for (Staging& s : staging_) {
        if (s.held || s.capacity < bytes) continue;
        cudaError_t q = cudaEventQuery(s.done);
        if (q == cudaSuccess) return &s;
        if (q != cudaErrorNotReady) cuda_check(q, "staging", "cudaEventQuery");
      }
      if (pinned_ + bytes <= kMaxPinned || pass == 1) break;
      GR_CHECK(cudaStreamSynchronize(stream_), "staging");
    }
    size_t cap = 1u << 16;
    while (cap < bytes) cap <<= 1;
    staging_.emplace_back();
    Staging& s = staging_.back();
    GR_CHECK(cudaHostAlloc(&s.ptr, cap, cudaHostAllocDefault), "staging");
    GR_CHECK(cudaEventCreateWithFlags(&s.done, cudaEventDisableTiming), "staging");
    s.capacity = cap;
    pinned_ += cap;
    return &s;
  }

  int device_;
  cudaStream_t stream_ = nullptr;
  cudaDeviceProp props_{};
  CachingAllocator* alloc_ = nullptr;
  Cublas cublas_;
  GpuExec exec_;
  Registry<GpuExec> registry_;
  HandleTable handles_;
  std::deque<Staging> staging_;
  size_t pinned_ = 0;
  double buffers_ = 0;
  std::string last_;
};

}  // namespace

std::unique_ptr<Runtime> make_runtime() {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorNoDevice || (e == cudaSuccess && count == 0)) {
    cudaGetLastError();
    fail("GR_NO_DEVICE", "cudaGetDeviceCount found none (a driver is installed)");
  }
  if (e != cudaSuccess) {
    cudaGetLastError();
    std::string why = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
    if (e == cudaErrorInsufficientDriver)
      fail("GR_DRIVER", "the CUDA driver is missing or older than this build's CUDA runtime (" + why + ")");
    fail("GR_DRIVER", "CUDA driver error: " + why);
  }
  int device = 0;
  if (const char* d = getenv("GRADREG_CUDA_DEVICE")) device = atoi(d);
  if (device < 0 || device >= count)
    fail("GR_NO_DEVICE", "GRADREG_CUDA_DEVICE=" + std::to_string(device) + " but only " + std::to_string(count) + " CUDA device(s)");
  return std::unique_ptr<Runtime>(new GpuRuntime(device));
}

}  // namespace gr
