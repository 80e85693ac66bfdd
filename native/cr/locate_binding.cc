#include <errno.h>

#include "common/js_error.h"
#include "cr/bindings.h"
#include "cr/criu_check.h"
#include "cr/criu_locator.h"

namespace crftb::cr {

Napi::Value LocateCriuBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    Throw(env, Failure::System(EINVAL, "locateCriu(explicitPath, packageRoot) takes two strings"));
  CriuLocation location;
  Failure failure = LocateCriu(info[0].As<Napi::String>(), info[1].As<Napi::String>(), &location);
  if (!failure.ok()) Throw(env, failure);
  Napi::Object out = Napi::Object::New(env);
  out.Set("path", location.path);
  out.Set("source", location.source);
  return out;
}

Napi::Value CriuCacheDirBinding(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), CriuCacheDir());
}

namespace {

// `criu check` runs on a worker thread: the first answer for a binary can take half a second.
class CriuCheckWorker : public Napi::AsyncWorker {
 public:
  CriuCheckWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env, "crftb.criuCheck"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { result_ = CheckCriu(path_); }
  void OnOK() override {
    Napi::Object out = Napi::Object::New(Env());
    out.Set("passed", result_.passed);
    out.Set("output", result_.output);
    deferred_.Resolve(out);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  CriuCheckResult result_;
};

}  // namespace

Napi::Value CriuCheckBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) Throw(env, Failure::System(EINVAL, "criuCheck(path) takes a string"));
  auto* worker = new CriuCheckWorker(env, info[0].As<Napi::String>());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace crftb::cr
