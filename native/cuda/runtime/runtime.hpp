// The device runtime behind the N-API surface: buffers by handle, uploads, asynchronous
// downloads, kernel launches by name. Two implementations: the CUDA one (runtime_gpu.cu) and the
// host one (runtime_host.cpp), which runs the same kernel bodies on the CPU for CI.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "call.hpp"

namespace gr {

/** A device-to-host copy in flight: wait() may block (worker thread), copy_to() runs on the main thread. */
struct PendingRead {
  virtual ~PendingRead() = default;
  virtual void wait() = 0;
  virtual void copy_to(void* dst) = 0;
};

struct MemoryStats {
  double liveBytes = 0, liveBuffers = 0, cachedBytes = 0, peakBytes = 0, deviceAllocs = 0;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  virtual uint32_t alloc(size_t bytes) = 0;
  virtual void release(uint32_t handle) = 0;
  virtual void upload(uint32_t handle, const void* src, size_t bytes) = 0;
  virtual std::unique_ptr<PendingRead> download(uint32_t handle, size_t bytes) = 0;
  virtual void launch(const std::string& kernel, const std::vector<uint32_t>& handles, const double* params,
                      size_t count) = 0;
  virtual void synchronize() = 0;
  /** Name/value pairs describing the device (name, compute capability, memory, GEMM path, ...). */
  virtual std::vector<std::pair<std::string, std::string>> info() = 0;
  virtual MemoryStats memory() = 0;
};

/** Create the runtime, or throw GR_NO_DEVICE / GR_DRIVER saying what is missing. */
std::unique_ptr<Runtime> make_runtime();

/**
 * Buffers by 32-bit handle. Handles are not reused while the counter lasts (2^32 allocations), so
 * a stale handle is a GR_ARGUMENT error instead of an alias of a newer buffer.
 */
class HandleTable {
 public:
  struct Slot {
    void* ptr = nullptr;
    size_t bytes = 0;
    size_t capacity = 0;
  };

  uint32_t add(void* ptr, size_t bytes, size_t capacity) {
    do {
      ++next_;
    } while (next_ == 0 || slots_.count(next_));
    slots_[next_] = Slot{ptr, bytes, capacity};
    return next_;
  }

  Slot& get(uint32_t h, const char* what) {
    auto it = slots_.find(h);
    if (it == slots_.end()) fail("GR_ARGUMENT", std::string(what) + ": unknown or freed buffer handle " + std::to_string(h));
    return it->second;
  }

  Slot take(uint32_t h) {
    Slot s = get(h, "free");
    slots_.erase(h);
    return s;
  }

  std::vector<BufView> views(const std::vector<uint32_t>& hs, const std::string& kernel) {
    std::vector<BufView> v;
    v.reserve(hs.size());
    for (uint32_t h : hs) {
      Slot& s = get(h, ("kernel '" + kernel + "'").c_str());
      v.push_back(BufView{s.ptr, s.bytes});
    }
    return v;
  }

 private:
  std::unordered_map<uint32_t, Slot> slots_;
  uint32_t next_ = 0;
};

}  // namespace gr
