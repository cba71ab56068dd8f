// A persistent pool of num_threads() - 1 workers; the calling thread takes chunk 0. Workers spin
// briefly after each job (ops come back to back during a training step), then sleep on a futex
// (std::atomic::wait) so an idle process holds no core.
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

long spin_ns() {
  if (const char* e = std::getenv("GRADREG_NATIVE_SPIN_US")) return std::atol(e) * 1000;
  return 30000;
}

thread_local bool in_parallel = false;

struct Pool {
  int threads = 1;
  std::vector<std::thread> workers;
  std::atomic<uint32_t> gen{0};
  std::atomic<int> pending{0};
  void (*fn)(void*, long, long) = nullptr;
  void* ctx = nullptr;
  long n = 0;
  int parts = 0;
  bool stop = false;
  long spin = spin_ns();

  void run_part(int i) {
    long b = n * i / parts, e = n * (i + 1) / parts;
    if (b < e) fn(ctx, b, e);
  }

  // `seen` is the generation when the worker was created: a job posted before the thread first runs
  // is still a change it will notice.
  void worker(int id, uint32_t seen) {
    in_parallel = true;
    for (;;) {
      wait_change(gen, seen);
      seen = gen.load(std::memory_order_acquire);
      if (stop) return;
      if (id < parts) run_part(id);
      if (pending.fetch_sub(1, std::memory_order_acq_rel) == 1) pending.notify_one();
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

  void start(int t) {
    shutdown();
    threads = t;
    stop = false;
    const uint32_t g0 = gen.load(std::memory_order_acquire);
    for (int i = 1; i < t; i++) workers.emplace_back([this, i, g0] { worker(i, g0); });
  }

  void shutdown() {
    if (workers.empty()) return;
    stop = true;
    pending.store(static_cast<int>(workers.size()), std::memory_order_release);
    gen.fetch_add(1, std::memory_order_acq_rel);
    gen.notify_all();
    for (auto& w : workers) w.join();
    workers.clear();
    stop = false;
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
  long maxParts = (n + grain - 1) / grain;
  int parts = static_cast<int>(maxParts < p.threads ? maxParts : p.threads);
  if (parts <= 1 || in_parallel) {
    fn(ctx, 0, n);
    return;
  }
  p.fn = fn;
  p.ctx = ctx;
  p.n = n;
  p.parts = parts;
  int nw = p.threads - 1;
  p.pending.store(nw, std::memory_order_release);
  p.gen.fetch_add(1, std::memory_order_acq_rel);
  p.gen.notify_all();
  in_parallel = true;
  p.run_part(0);
  in_parallel = false;
  for (;;) {
    int left = p.pending.load(std::memory_order_acquire);
    if (left == 0) break;
    p.wait_change(p.pending, left);
  }
}

}  // namespace gr
