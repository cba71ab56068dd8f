// Errors crossing into JavaScript: each carries a code that the TypeScript side maps to a typed
// error (DeviceError) and a message that names the kernel or call that failed.
#pragma once
#include <stdexcept>
#include <string>

namespace gr {

struct Failure : std::runtime_error {
  /** GR_ARGUMENT, GR_CUDA, GR_CUBLAS, GR_OOM, GR_NO_DEVICE, GR_DRIVER. */
  std::string code;
  Failure(std::string c, const std::string& msg) : std::runtime_error(msg), code(std::move(c)) {}
};

[[noreturn]] inline void fail(const char* code, const std::string& msg) { throw Failure(code, msg); }

}  // namespace gr
