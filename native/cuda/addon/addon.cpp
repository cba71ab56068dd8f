// The thin N-API surface over a Runtime: init, alloc, free, upload, download, launch,
// synchronize, deviceInfo, memoryInfo. Compiled twice: against the CUDA runtime (gradreg_cuda)
// and against the host runtime (gradreg_cuda_host, for CI). Failures become JavaScript errors
// with a `code` (GR_*) that the TypeScript side turns into typed errors.
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../runtime/runtime.hpp"

namespace {

using gr::Failure;
using gr::Runtime;

// Created by init() and kept for the life of the process: tearing down a CUDA context from a
// static destructor at exit is unsafe, and the driver releases everything at exit anyway.
Runtime* g_runtime = nullptr;

[[noreturn]] void rethrow(Napi::Env env, const Failure& f) {
  Napi::Error e = Napi::Error::New(env, f.what());
  e.Set("code", Napi::String::New(env, f.code));
  throw e;
}

template <class Fn> auto guarded(Napi::Env env, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Failure& f) {
    rethrow(env, f);
  } catch (const std::bad_alloc&) {
    rethrow(env, Failure("GR_OOM", "host: out of memory"));
  }
}

Runtime& rt(Napi::Env env) {
  if (!g_runtime) rethrow(env, Failure("GR_ARGUMENT", "the runtime is not initialized: call init() first"));
  return *g_runtime;
}

uint32_t handle_arg(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) rethrow(info.Env(), Failure("GR_ARGUMENT", "expected a buffer handle"));
  return info[i].As<Napi::Number>().Uint32Value();
}

Napi::Object info_object(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  for (auto& kv : rt(env).info()) o.Set(kv.first, kv.second);
  return o;
}

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    if (!g_runtime) g_runtime = gr::make_runtime().release();
    return info_object(env);
  });
}

Napi::Value Alloc(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) rethrow(env, Failure("GR_ARGUMENT", "alloc: expected a byte count"));
  double bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 0)) rethrow(env, Failure("GR_ARGUMENT", "alloc: bad byte count"));
  return guarded(env, [&]() -> Napi::Value { return Napi::Number::New(env, rt(env).alloc((size_t)bytes)); });
}

Napi::Value Free(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t h = handle_arg(info, 0);
  guarded(env, [&]() { rt(env).release(h); });
  return env.Undefined();
}

Napi::Value Upload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t h = handle_arg(info, 0);
  if (info.Length() < 2 || !info[1].IsTypedArray()) rethrow(env, Failure("GR_ARGUMENT", "upload: expected a typed array"));
  Napi::TypedArray a = info[1].As<Napi::TypedArray>();
  const uint8_t* src = static_cast<const uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset();
  size_t bytes = a.ByteLength();
  guarded(env, [&]() { rt(env).upload(h, src, bytes); });
  return env.Undefined();
}

/** Waits for the copy off the main thread, then resolves with an ArrayBuffer. */
class DownloadWorker : public Napi::AsyncWorker {
 public:
  DownloadWorker(Napi::Env env, std::unique_ptr<gr::PendingRead> p, size_t bytes)
      : Napi::AsyncWorker(env, "gradreg_cuda_download"), pending_(std::move(p)), bytes_(bytes), deferred_(env) {}
  Napi::Promise promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      pending_->wait();
    } catch (const Failure& f) {
      code_ = f.code;
      SetError(f.what());
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, bytes_);
    pending_->copy_to(buf.Data());
    pending_.reset();
    deferred_.Resolve(buf);
  }
  void OnError(const Napi::Error& e) override {
    pending_.reset();
    Napi::Error err = Napi::Error::New(Env(), e.Message());
    err.Set("code", Napi::String::New(Env(), code_.empty() ? "GR_CUDA" : code_));
    deferred_.Reject(err.Value());
  }

 private:
  std::unique_ptr<gr::PendingRead> pending_;
  size_t bytes_;
  Napi::Promise::Deferred deferred_;
  std::string code_;
};

Napi::Value Download(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t h = handle_arg(info, 0);
  if (info.Length() < 2 || !info[1].IsNumber()) rethrow(env, Failure("GR_ARGUMENT", "download: expected a byte count"));
  size_t bytes = (size_t)info[1].As<Napi::Number>().DoubleValue();
  return guarded(env, [&]() -> Napi::Value {
    auto* w = new DownloadWorker(env, rt(env).download(h, bytes), bytes);
    Napi::Promise p = w->promise();
    w->Queue();
    return p;
  });
}

/** launch(kernel: string, handles: Uint32Array | number[], params: Float64Array) */
Napi::Value Launch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString()) rethrow(env, Failure("GR_ARGUMENT", "launch: expected (kernel, handles, params)"));
  std::string kernel = info[0].As<Napi::String>().Utf8Value();
  std::vector<uint32_t> hs;
  if (info[1].IsTypedArray() && info[1].As<Napi::TypedArray>().TypedArrayType() == napi_uint32_array) {
    Napi::Uint32Array a = info[1].As<Napi::Uint32Array>();
    hs.assign(a.Data(), a.Data() + a.ElementLength());
  } else if (info[1].IsArray()) {
    Napi::Array a = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) hs.push_back(a.Get(i).As<Napi::Number>().Uint32Value());
  } else {
    rethrow(env, Failure("GR_ARGUMENT", "launch '" + kernel + "': handles must be a Uint32Array or an array"));
  }
  if (!info[2].IsTypedArray() || info[2].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
    rethrow(env, Failure("GR_ARGUMENT", "launch '" + kernel + "': params must be a Float64Array"));
  Napi::Float64Array p = info[2].As<Napi::Float64Array>();
  guarded(env, [&]() { rt(env).launch(kernel, hs, p.Data(), p.ElementLength()); });
  return env.Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  guarded(env, [&]() { rt(env).synchronize(); });
  return env.Undefined();
}

Napi::Value DeviceInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value { return info_object(env); });
}

Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    gr::MemoryStats m = rt(env).memory();
    Napi::Object o = Napi::Object::New(env);
    o.Set("liveBytes", m.liveBytes);
    o.Set("liveBuffers", m.liveBuffers);
    o.Set("cachedBytes", m.cachedBytes);
    o.Set("peakBytes", m.peakBytes);
    o.Set("deviceAllocs", m.deviceAllocs);
    return o;
  });
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("kind", Napi::String::New(env, GRADREG_ADDON_KIND));
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
  exports.Set("free", Napi::Function::New(env, Free));
  exports.Set("upload", Napi::Function::New(env, Upload));
  exports.Set("download", Napi::Function::New(env, Download));
  exports.Set("launch", Napi::Function::New(env, Launch));
  exports.Set("synchronize", Napi::Function::New(env, Synchronize));
  exports.Set("deviceInfo", Napi::Function::New(env, DeviceInfo));
  exports.Set("memoryInfo", Napi::Function::New(env, MemoryInfo));
  return exports;
}

}  // namespace

NODE_API_MODULE(NODE_GYP_MODULE_NAME, Module)
