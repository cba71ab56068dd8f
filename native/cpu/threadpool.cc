// A persistent pool of num_threads() - 1 workers plus the calling thread. A job is split into a few
// chunks per thread that every thread claims dynamically from one atomic counter, so a worker the
// OS has descheduled (a shared machine) delays the job by at most one chunk instead of stalling it:
// the caller simply takes the chunks nobody has claimed. Workers spin briefly after each job (ops
// come back to back during a training step), then sleep on a futex (std::atomic::wait).
//
// The counter packs (job id << 32 | next chunk); claiming is a compare-and-swap that only succeeds
// while the job is still the one whose descriptor the claimer read, so a late worker can never run
// a chunk of a newer job with an older job's function.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>
#include <sched.h>
#include <unistd.h>

#include "common.h"

namespace gr {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

int detect_threads() {
  if (const char* e = std::getenv("GRADREG_NATIVE_THREADS")) {
    int n = std::atoi(e);
    if (n >= 1) return n > 256 ? 256 : n;
  }
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n >= 1) return n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n >= 1 ? static_cast<int>(n) : 1;
}

}  // namespace

const long g_transform_prefetch_bytes = [] {
  if (const char* e = std::getenv("GRADREG_NATIVE_PREFETCH")) {
    const long b = std::atol(e);
    return b > 0 ? (b > 65536 ? 65536 : b) : 0L;
  }
  return 2048L;
}();

namespace {

long spin_ns() {
  if (const char* e = std::getenv("GRADREG_NATIVE_SPIN_US")) return std::atol(e) * 1000;
  return 50000;
}

thread_local bool in_parallel = false;

using Fn = void (*)(void*, long, long);

struct Pool {
  int threads = 1;
  std::vector<std::thread> workers;
  std::atomic<uint32_t> job{0};    // id of the latest job: what sleeping workers wait on
  std::atomic<uint64_t> next{0};   // (job id << 32) | next unclaimed chunk
  std::atomic<long> done{0};       // chunks finished in the current job
  std::atomic<Fn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<long> n{0};
  std::atomic<long> chunks{0};
  std::atomic<bool> stop{false};
  long spin = spin_ns();

  // Claim and run chunks of job `id` until none are left.
  void work(uint32_t id) {
    uint64_t cur = next.load(std::memory_order_acquire);
    if (static_cast<uint32_t>(cur >> 32) != id) return;
    const Fn f = fn.load(std::memory_order_relaxed);
    void* c = ctx.load(std::memory_order_relaxed);
    const long total = n.load(std::memory_order_relaxed);
    const long nc = chunks.load(std::memory_order_relaxed);
    for (;;) {
      if (static_cast<uint32_t>(cur >> 32) != id) return;
      const long k = static_cast<long>(cur & 0xffffffffu);
      if (k >= nc) return;
      if (!next.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
      const long b = total * k / nc, e = total * (k + 1) / nc;
      if (b < e) f(c, b, e);
      if (done.fetch_add(1, std::memory_order_acq_rel) + 1 == nc) done.notify_one();
      cur = next.load(std::memory_order_acquire);
    }
  }

  template <class A, class V>
  void wait_change(A& a, V old) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0;; i++) {
      if (a.load(std::memory_order_acquire) != old) return;
      cpu_relax();
      if ((i & 63) == 63 &&
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count() > spin)
        break;
    }
    while (a.load(std::memory_order_acquire) == old) a.wait(old, std::memory_order_acquire);
  }

  void worker(uint32_t seen) {
    in_parallel = true;
    for (;;) {
      wait_change(job, seen);
      seen = job.load(std::memory_order_acquire);
      if (stop.load(std::memory_order_acquire)) return;
      work(seen);
    }
  }

  void start(int t) {
    shutdown();
    threads = t;
    const uint32_t j0 = job.load(std::memory_order_acquire);
    for (int i = 1; i < t; i++) workers.emplace_back([this, j0] { worker(j0); });
  }

  void shutdown() {
    if (workers.empty()) return;
    stop.store(true, std::memory_order_release);
    job.fetch_add(1, std::memory_order_acq_rel);
    job.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
    stop.store(false, std::memory_order_release);
  }

  void run(long total, long nc, Fn f, void* c) {
    const uint32_t id = job.load(std::memory_order_relaxed) + 1;
    fn.store(f, std::memory_order_relaxed);
    ctx.store(c, std::memory_order_relaxed);
    n.store(total, std::memory_order_relaxed);
    chunks.store(nc, std::memory_order_relaxed);
    done.store(0, std::memory_order_relaxed);
    next.store(static_cast<uint64_t>(id) << 32, std::memory_order_release);
    job.store(id, std::memory_order_release);
    job.notify_all();
    in_parallel = true;
    work(id);
    in_parallel = false;
    for (;;) {
      const long d = done.load(std::memory_order_acquire);
      if (d >= nc) break;
      wait_change(done, d);
    }
  }

  ~Pool() { shutdown(); }
};

Pool& pool() {
  static Pool p;
  static bool started = false;
  if (!started) {
    started = true;
    p.start(detect_threads());
  }
  return p;
}

}  // namespace

int num_threads() { return pool().threads; }

void set_num_threads(int n) {
  if (n < 1) n = 1;
  pool().start(n);
}

void parallel_for_raw(long n, long grain, void (*fn)(void*, long, long), void* ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  Pool& p = pool();
  const long maxChunks = (n + grain - 1) / grain;
  if (maxChunks <= 1 || p.threads <= 1 || in_parallel) {
    fn(ctx, 0, n);
    return;
  }
  // A few chunks per thread balance a descheduled worker without fragmenting the work.
  const long want = 4L * p.threads;
  p.run(n, maxChunks < want ? maxChunks : want, fn, ctx);
}

}  // namespace gr
