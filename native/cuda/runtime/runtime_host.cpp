// The host runtime: buffers in host memory, kernels run by HostExec. It is what the CI tests
// drive through the same TypeScript backend as the CUDA runtime.
#include <stdlib.h>
#include <string.h>

#include "../ops/registry.hpp"
#include "exec_host.hpp"
#include "runtime.hpp"

namespace gr {

namespace {

struct ReadyRead : PendingRead {
  const void* src;
  size_t bytes;
  ReadyRead(const void* s, size_t b) : src(s), bytes(b) {}
  void wait() override {}
  void copy_to(void* dst) override {
    if (bytes) memcpy(dst, src, bytes);
  }
};

class HostRuntime : public Runtime {
 public:
  HostRuntime() : registry_(make_registry<HostExec>()) {}

  uint32_t alloc(size_t bytes) override {
    void* p = bytes ? malloc(bytes) : nullptr;
    if (bytes && !p) fail("GR_OOM", "host: out of memory allocating " + std::to_string(bytes) + " bytes");
    live_ += (double)bytes;
    if (live_ > peak_) peak_ = live_;
    ++buffers_;
    return handles_.add(p, bytes, bytes);
  }

  void release(uint32_t h) override {
    HandleTable::Slot s = handles_.take(h);
    free(s.ptr);
    live_ -= (double)s.bytes;
    --buffers_;
  }

  void upload(uint32_t h, const void* src, size_t bytes) override {
    HandleTable::Slot& s = handles_.get(h, "upload");
    if (bytes > s.bytes) fail("GR_ARGUMENT", "upload: " + std::to_string(bytes) + " bytes into a buffer of " + std::to_string(s.bytes));
    if (bytes) memcpy(s.ptr, src, bytes);
  }

  std::unique_ptr<PendingRead> download(uint32_t h, size_t bytes) override {
    HandleTable::Slot& s = handles_.get(h, "download");
    if (bytes > s.bytes) fail("GR_ARGUMENT", "download: " + std::to_string(bytes) + " bytes from a buffer of " + std::to_string(s.bytes));
    return std::unique_ptr<PendingRead>(new ReadyRead(s.ptr, bytes));
  }

  void launch(const std::string& kernel, const std::vector<uint32_t>& hs, const double* params, size_t count) override {
    auto it = registry_.find(kernel);
    if (it == registry_.end()) fail("GR_ARGUMENT", "unknown kernel '" + kernel + "'");
    Call call(kernel, handles_.views(hs, kernel), params, count);
    it->second(exec_, call);
  }

  void synchronize() override {}

  std::vector<std::pair<std::string, std::string>> info() override {
    return {{"name", "host build of the CUDA kernel bodies"}, {"gemm", "tiled kernel (host replay)"}};
  }

  MemoryStats memory() override {
    MemoryStats m;
    m.liveBytes = live_;
    m.liveBuffers = buffers_;
    m.peakBytes = peak_;
    return m;
  }

 private:
  Registry<HostExec> registry_;
  HostExec exec_;
  HandleTable handles_;
  double live_ = 0, peak_ = 0, buffers_ = 0;
};

}  // namespace

std::unique_ptr<Runtime> make_runtime() { return std::unique_ptr<Runtime>(new HostRuntime()); }

}  // namespace gr
