#include "cr/blcr/binding.h"

#include <errno.h>

#include <functional>
#include <new>

#include "common/error.h"
#include "cr/blcr/requests.h"

namespace crftb::cr::blcr {
namespace {

// Runs one blocking libcr request on libuv's pool and settles a promise with its outcome.
template <typename Result>
class RequestWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Failure(Result*)>;
  using Convert = std::function<Napi::Value(Napi::Env, const Result&)>;

  RequestWorker(Napi::Env env, const char* name, Work work, Convert convert)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        convert_(std::move(convert)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override {
    try {
      failure_ = work_(&result_);
    } catch (const std::bad_alloc&) {
      failure_ = Failure::Coded("ENOMEM", "out of memory while running a BLCR request", ENOMEM);
    }
  }
  void OnOK() override {
    if (failure_.ok())
      deferred_.Resolve(convert_(Env(), result_));
    else
      deferred_.Reject(ToJsError(Env(), failure_).Value());
  }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Convert convert_;
  Result result_;
  Failure failure_;
};

template <typename Result>
Napi::Value Start(Napi::Env env, const char* name, typename RequestWorker<Result>::Work work,
                  typename RequestWorker<Result>::Convert convert) {
  auto* worker = new RequestWorker<Result>(env, name, std::move(work), std::move(convert));
  worker->Queue();
  return worker->Promise();
}

// Argument readers: bad input is a coded EINVAL error thrown before any work starts.
[[noreturn]] void BadOption(Napi::Env env, const std::string& what) {
  Throw(env, Failure::Coded("EINVAL", what, EINVAL));
}

Napi::Object OptionsArg(const Napi::CallbackInfo& info, bool required) {
  if (info.Length() == 0 || info[0].IsUndefined()) {
    if (required) BadOption(info.Env(), "an options object is required");
    return Napi::Object::New(info.Env());
  }
  if (!info[0].IsObject()) BadOption(info.Env(), "options must be an object");
  return info[0].As<Napi::Object>();
}

std::string StringOption(const Napi::Object& options, const char* key, bool required) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined() && !required) return "";
  if (!value.IsString() || value.As<Napi::String>().Utf8Value().empty())
    BadOption(options.Env(), std::string("options.") + key + " must be a non-empty string");
  return value.As<Napi::String>().Utf8Value();
}

int64_t IntegerOption(const Napi::Object& options, const char* key, int64_t fallback, int64_t min, int64_t max) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return fallback;
  double number = value.IsNumber() ? value.As<Napi::Number>().DoubleValue() : -1e300;
  if (!value.IsNumber() || number != static_cast<double>(static_cast<int64_t>(number)) || number < min || number > max)
    BadOption(options.Env(), std::string("options.") + key + " must be an integer from " + std::to_string(min) +
                                 " to " + std::to_string(max));
  return static_cast<int64_t>(number);
}

bool BoolOption(const Napi::Object& options, const char* key, bool fallback) {
  Napi::Value value = options.Get(key);
  if (value.IsUndefined()) return fallback;
  if (!value.IsBoolean()) BadOption(options.Env(), std::string("options.") + key + " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

Scope ScopeOption(const Napi::Object& options) {
  std::string scope = StringOption(options, "scope", false);
  if (scope.empty() || scope == "process") return kScopeProc;
  if (scope == "pgid") return kScopePgrp;
  if (scope == "session") return kScopeSess;
  if (scope == "tree") return kScopeTree;
  BadOption(options.Env(), "options.scope must be 'process', 'pgid', 'session' or 'tree'");
}

unsigned CheckpointFlags(const Napi::Object& options) {
  unsigned flags = 0;
  std::string ptraced = StringOption(options, "ptraced", false);
  if (ptraced == "allow") flags |= kChkptPtracedAllow;
  else if (ptraced == "skip") flags |= kChkptPtracedSkip;
  else if (!ptraced.empty() && ptraced != "error") BadOption(options.Env(), "options.ptraced must be 'error', 'allow' or 'skip'");
  std::string ptracer = StringOption(options, "ptracer", false);
  if (ptracer == "skip") flags |= kChkptPtracerSkip;
  else if (!ptracer.empty() && ptracer != "error") BadOption(options.Env(), "options.ptracer must be 'error' or 'skip'");
  if (BoolOption(options, "saveExecutable", false)) flags |= kChkptDumpExec;
  if (BoolOption(options, "savePrivateMappings", false)) flags |= kChkptDumpPrivate;
  if (BoolOption(options, "saveSharedMappings", false)) flags |= kChkptDumpShared;
  return flags;
}

std::vector<std::pair<std::string, std::string>> RelocateOption(const Napi::Object& options) {
  std::vector<std::pair<std::string, std::string>> pairs;
  Napi::Value value = options.Get("relocate");
  if (value.IsUndefined()) return pairs;
  const char* shape = "options.relocate must be an array of [oldPath, newPath] string pairs";
  if (!value.IsArray()) BadOption(options.Env(), shape);
  Napi::Array list = value.As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value item = list.Get(i);
    if (!item.IsArray() || item.As<Napi::Array>().Length() != 2) BadOption(options.Env(), shape);
    Napi::Value from = item.As<Napi::Array>().Get(0u), to = item.As<Napi::Array>().Get(1u);
    if (!from.IsString() || !to.IsString()) BadOption(options.Env(), shape);
    pairs.emplace_back(from.As<Napi::String>().Utf8Value(), to.As<Napi::String>().Utf8Value());
  }
  return pairs;
}

constexpr int64_t kDefaultTimeoutMs = 60000;
constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxSignal = 64;

Napi::Value ProbeBinding(const Napi::CallbackInfo& info) {
  Napi::Object options = OptionsArg(info, false);
  std::string library = StringOption(options, "libraryPath", false);
  return Start<ProbeResult>(
      info.Env(), "crftb.blcrProbe", [library](ProbeResult* out) { return Probe(library, out); },
      [](Napi::Env env, const ProbeResult& r) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("engine", "blcr");
        o.Set("library", r.library);
        o.Set("publishesFtb", r.publishes_ftb);
        o.Set("clientId", r.client_id);
        return o;
      });
}

Napi::Value CheckpointBinding(const Napi::CallbackInfo& info) {
  Napi::Object options = OptionsArg(info, true);
  CheckpointRequest request;
  request.library_path = StringOption(options, "libraryPath", false);
  request.scope = ScopeOption(options);
  request.target = static_cast<pid_t>(IntegerOption(options, "target", 0, 1, INT32_MAX));
  if (options.Get("target").IsUndefined()) BadOption(info.Env(), "options.target (a pid, pgid or sid) is required");
  request.path = StringOption(options, "path", true);
  request.signal = static_cast<int>(IntegerOption(options, "signal", 0, -kMaxSignal, kMaxSignal));
  request.flags = CheckpointFlags(options);
  request.allow_self = BoolOption(options, "allowSelf", false);
  request.timeout_ms = static_cast<int>(IntegerOption(options, "timeoutMs", kDefaultTimeoutMs, 0, kMaxTimeoutMs));
  return Start<CheckpointResult>(
      info.Env(), "crftb.blcrCheckpoint", [request](CheckpointResult* out) { return Checkpoint(request, out); },
      [](Napi::Env env, const CheckpointResult& r) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("path", r.path);
        o.Set("kernelLog", r.kernel_log);
        o.Set("restartedCopy", r.restarted_copy);
        return o;
      });
}

Napi::Value RestartBinding(const Napi::CallbackInfo& info) {
  Napi::Object options = OptionsArg(info, true);
  RestartRequest request;
  request.library_path = StringOption(options, "libraryPath", false);
  request.path = StringOption(options, "path", true);
  request.signal = static_cast<int>(IntegerOption(options, "signal", 0, -kMaxSignal, kMaxSignal));
  request.restore_pid = BoolOption(options, "restorePid", true);
  request.restore_pgid = BoolOption(options, "restorePgid", false);
  request.restore_sid = BoolOption(options, "restoreSid", false);
  request.relocate = RelocateOption(options);
  request.timeout_ms = static_cast<int>(IntegerOption(options, "timeoutMs", kDefaultTimeoutMs, 0, kMaxTimeoutMs));
  return Start<RestartResult>(
      info.Env(), "crftb.blcrRestart", [request](RestartResult* out) { return Restart(request, out); },
      [](Napi::Env env, const RestartResult& r) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("pid", r.pid);
        o.Set("kernelLog", r.kernel_log);
        return o;
      });
}

}  // namespace

void RegisterBindings(Napi::Env env, Napi::Object target) {
  target.Set("blcrProbe", Napi::Function::New(env, ProbeBinding, "blcrProbe"));
  target.Set("blcrCheckpoint", Napi::Function::New(env, CheckpointBinding, "blcrCheckpoint"));
  target.Set("blcrRestart", Napi::Function::New(env, RestartBinding, "blcrRestart"));
}

}  // namespace crftb::cr::blcr
