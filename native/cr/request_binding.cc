// checkpoint(options) / restart(options): parse on the JS thread (bad input throws EINVAL before
// anything happens), run the request model on libuv's pool, settle a promise on the JS thread.
#include <errno.h>

#include <functional>
#include <new>

#include "common/js_error.h"
#include "cr/abandoned.h"
#include "cr/bindings.h"
#include "cr/child_reaper.h"
#include "cr/criu_locator.h"
#include "cr/request.h"

namespace crftb::cr {

namespace {

[[noreturn]] void Bad(Napi::Env env, const std::string& what) { Throw(env, Failure::System(EINVAL, what)); }

class Options {
 public:
  Options(const Napi::CallbackInfo& info) : env_(info.Env()) {
    if (info.Length() < 1 || !info[0].IsObject()) Bad(env_, "options must be an object");
    object_ = info[0].As<Napi::Object>();
  }
  std::string String(const char* key, const std::string& fallback = "") const {
    Napi::Value v = object_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsString()) Bad(env_, std::string("options.") + key + " must be a string");
    return v.As<Napi::String>().Utf8Value();
  }
  bool Bool(const char* key, bool fallback = false) const {
    Napi::Value v = object_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    if (!v.IsBoolean()) Bad(env_, std::string("options.") + key + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  int64_t Integer(const char* key, int64_t fallback, int64_t min, int64_t max) const {
    Napi::Value v = object_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return fallback;
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1e300;
    if (d != static_cast<double>(static_cast<int64_t>(d)) || d < min || d > max)
      Bad(env_, std::string("options.") + key + " must be an integer from " + std::to_string(min) + " to " +
                    std::to_string(max));
    return static_cast<int64_t>(d);
  }
  FtbSettings Ftb() const {
    FtbSettings ftb;
    Napi::Value v = object_.Get("ftb");
    if (v.IsUndefined() || v.IsNull()) return ftb;
    if (v.IsBoolean()) {
      ftb.enabled = v.As<Napi::Boolean>().Value();
      return ftb;
    }
    if (!v.IsObject())
      Bad(env_, "options.ftb must be a boolean or { agentHost, agentPort, connectTimeoutMs, retryAfterMs }");
    Options inner(env_, v.As<Napi::Object>());
    ftb.agent_host = inner.String("agentHost");
    ftb.agent_port = static_cast<int>(inner.Integer("agentPort", 0, 0, 65535));
    ftb.connect_timeout_ms = static_cast<int>(inner.Integer("connectTimeoutMs", 1000, 1, 600000));
    ftb.retry_after_ms = static_cast<int>(inner.Integer("retryAfterMs", 5000, 0, 86400000));
    return ftb;
  }
  // The engine asked for and where each engine's library is (checkpoint, restart, probe).
  void Engines(std::string* name, EngineConfig* criu, EngineConfig* blcr) const {
    *name = String("engine", "auto");
    *criu = Criu();
    blcr->library = String("libcr");
  }
  // Exactly one of dir (CRIU images) and file (BLCR context file), for checkpoint and restart.
  void Images(std::string* dir, std::string* file) const {
    *dir = String("dir");
    *file = String("file");
    if (dir->empty() == file->empty()) Bad(env_, "pass exactly one of options.dir and options.file");
  }
  int TimeoutMs() const { return static_cast<int>(Integer("timeoutMs", 0, 0, 86400000)); }
  // One of `names` (its index), or `fallback` when the option is absent.
  int Choice(const char* key, std::initializer_list<const char*> names, int fallback) const {
    const std::string value = String(key);
    if (value.empty()) return fallback;
    int index = 0;
    std::string list;
    for (const char* name : names) {
      if (value == name) return index;
      list += std::string(index ? ", " : "") + "'" + name + "'";
      ++index;
    }
    Bad(env_, std::string("options.") + key + " must be one of " + list);
  }
  // A boolean option as -1 (absent), 0 or 1.
  int Tristate(const char* key) const {
    Napi::Value v = object_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return -1;
    return Bool(key) ? 1 : 0;
  }

 private:
  Options(Napi::Env env, Napi::Object object) : env_(env), object_(object) {}
  // CRIU: the service binary by the one location rule; an unusable explicit one is an error.
  // An explicit binary is checked here (cheap: it is used as given); otherwise the search, which
  // may run `criu check`, happens on the request's thread (SelectEngine).
  EngineConfig Criu() const {
    EngineConfig config;
    config.library = String("libcriu");
    const std::string named = String("criu");
    if (named.empty()) {
      config.locate = true;
      config.package_root = String("packageRoot");
      return config;
    }
    CriuLocation location;
    if (Failure f = LocateCriu(named, String("packageRoot"), &location); !f.ok()) Throw(env_, f);
    config.service = location.path;
    return config;
  }
  Napi::Env env_;
  Napi::Object object_;
};

Scope ParseScope(Napi::Env env, const std::string& name) {
  if (name == "process" || name.empty()) return Scope::kProcess;
  if (name == "pgid") return Scope::kProcessGroup;
  if (name == "session") return Scope::kSession;
  if (name == "tree") return Scope::kTree;
  Bad(env, "options.scope must be 'process', 'pgid', 'session' or 'tree'");
}

After ParseAfter(Napi::Env env, const std::string& name) {
  if (name == "leaveRunning" || name.empty()) return After::kLeaveRunning;
  if (name == "stop") return After::kStop;
  if (name == "kill") return After::kKill;
  Bad(env, "options.after must be 'leaveRunning', 'stop' or 'kill'");
}

Napi::Array Pids(Napi::Env env, const std::vector<pid_t>& pids) {
  Napi::Array out = Napi::Array::New(env, pids.size());
  for (size_t i = 0; i < pids.size(); ++i) out.Set(i, Napi::Number::New(env, pids[i]));
  return out;
}

template <typename Result>
class Worker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Failure(Result*)>;
  using Convert = std::function<Napi::Value(Napi::Env, const Result&)>;
  // Adds what the result says to the error of a failed request (e.g. images committed anyway).
  using Annotate = std::function<void(Napi::Env, Napi::Object, const Result&)>;
  Worker(Napi::Env env, const char* name, Work work, Convert convert, Annotate annotate)
      : Napi::AsyncWorker(env, name),
        deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)),
        convert_(std::move(convert)),
        annotate_(std::move(annotate)) {}
  Napi::Promise Promise() const { return deferred_.Promise(); }
  void CloseWhenSettled(std::shared_ptr<CancelSignal> signal) { cancel_ = std::move(signal); }

 protected:
  void Execute() override {
    try {
      failure_ = work_(&result_);
    } catch (const std::bad_alloc&) {
      failure_ = Failure::System(ENOMEM, "out of memory during a checkpoint/restart request");
    }
  }
  void OnOK() override {
    if (cancel_) cancel_->Close();
    if (failure_.ok()) {
      deferred_.Resolve(convert_(Env(), result_));
      return;
    }
    Napi::Object error = ToJsError(Env(), failure_).Value();
    if (annotate_) annotate_(Env(), error, result_);
    deferred_.Reject(error);
  }
  void OnError(const Napi::Error& error) override {
    if (cancel_) cancel_->Close();
    deferred_.Reject(error.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Convert convert_;
  Annotate annotate_;
  std::shared_ptr<CancelSignal> cancel_;
  Result result_;
  Failure failure_;
};

template <typename Result>
Napi::Promise Queue(Napi::Env env, const char* name, typename Worker<Result>::Work work,
                    typename Worker<Result>::Convert convert, typename Worker<Result>::Annotate annotate = nullptr,
                    std::shared_ptr<CancelSignal> cancel = nullptr) {
  auto* worker = new Worker<Result>(env, name, std::move(work), std::move(convert), std::move(annotate));
  worker->CloseWhenSettled(std::move(cancel));
  worker->Queue();
  return worker->Promise();
}

// A request JS can cancel: { promise, cancel() }. cancel() after the request settled does nothing.
std::shared_ptr<CancelSignal> NewCancel(Napi::Env env) {
  std::shared_ptr<CancelSignal> signal;
  if (Failure f = CancelSignal::Make(&signal); !f.ok()) Throw(env, f);
  return signal;
}

Napi::Object Cancellable(Napi::Env env, Napi::Promise promise, std::shared_ptr<CancelSignal> signal) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("promise", promise);
  out.Set("cancel", Napi::Function::New(
                        env, [signal](const Napi::CallbackInfo&) { signal->Cancel(); }, "cancel"));
  return out;
}

}  // namespace

Napi::Value CheckpointBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Options o(info);
  CheckpointOptions options;
  o.Engines(&options.engine, &options.criu, &options.blcr);
  options.scope = ParseScope(env, o.String("scope"));
  options.target = static_cast<pid_t>(o.Integer("target", 0, 0, 4194304));
  options.allow_own_group = o.Bool("allowOwnGroup");
  o.Images(&options.dir, &options.file);
  options.after = ParseAfter(env, o.String("after"));
  options.timeout_ms = o.TimeoutMs();
  options.elapsed_ms = static_cast<int>(o.Integer("elapsedMs", 0, 0, 86400000));
  options.incremental = o.Bool("incremental");
  // Connections choices, in Connections' order; network locks in NetworkLock's order.
  options.tuning.connections = static_cast<Connections>(o.Choice("connections", {"close", "keep", "fail"}, 0));
  options.tuning.skip_in_flight = o.Bool("skipInFlight", true);
  options.tuning.network_lock = static_cast<NetworkLock>(o.Choice("networkLock", {"auto", "iptables", "nftables"}, 0));
  options.tuning.ghost_limit = static_cast<unsigned>(o.Integer("ghostLimit", 0, 0, 0xffffffffLL));
  options.tuning.ext_unix_sockets = o.Bool("extUnixSockets");
  options.tuning.shell_job = o.Bool("shellJob");
  options.ftb = o.Ftb();
  options.cancel = NewCancel(env);
  Napi::Promise promise = Queue<CheckpointResult>(
      env, "crftb.checkpoint", [options](CheckpointResult* r) { return RunCheckpoint(options, r); },
      [](Napi::Env env, const CheckpointResult& r) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("restarted", r.restarted);
        out.Set("engine", r.engine);
        out.Set("path", r.path);
        out.Set("generation", r.generation);
        Napi::Array images = Napi::Array::New(env, r.images.size());
        for (size_t i = 0; i < r.images.size(); ++i) images.Set(i, r.images[i]);
        out.Set("images", images);
        out.Set("bytes", Napi::Number::New(env, static_cast<double>(r.bytes)));
        out.Set("pids", Pids(env, r.pids));
        out.Set("incremental", r.incremental);
        out.Set("seconds", r.seconds);
        if (r.frozen_seconds >= 0) out.Set("frozenSeconds", r.frozen_seconds);
        Napi::Array files = Napi::Array::New(env, r.must_not_change.size());
        for (size_t i = 0; i < r.must_not_change.size(); ++i) {
          Napi::Object file = Napi::Object::New(env);
          file.Set("pid", r.must_not_change[i].pid);
          file.Set("fd", r.must_not_change[i].fd);
          file.Set("path", r.must_not_change[i].path);
          files.Set(i, file);
        }
        out.Set("filesThatMustNotChange", files);
        return out;
      },
      [](Napi::Env env, Napi::Object error, const CheckpointResult& r) {
        if (!r.committed) return;
        error.Set("committed", true);
        error.Set("path", r.path);
        error.Set("generation", r.generation);
      },
      options.cancel);
  return Cancellable(env, promise, options.cancel);
}

Napi::Value RestartBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Options o(info);
  RestartOptions options;
  o.Engines(&options.engine, &options.criu, &options.blcr);
  o.Images(&options.dir, &options.file);
  options.timeout_ms = o.TimeoutMs();
  options.elapsed_ms = static_cast<int>(o.Integer("elapsedMs", 0, 0, 86400000));
  options.connections = o.Choice("connections", {"close", "keep", "fail"}, -1);
  options.network_lock = o.Choice("networkLock", {"auto", "iptables", "nftables"}, -1);
  options.ext_unix_sockets = o.Tristate("extUnixSockets");
  options.shell_job = o.Tristate("shellJob");
  options.reap_wait_ms = static_cast<int>(o.Integer("reapWaitMs", 5000, 0, 600000));
  options.ftb = o.Ftb();
  options.cancel = NewCancel(env);
  Napi::Promise promise = Queue<RestartResult>(
      env, "crftb.restart", [options](RestartResult* r) { return RunRestart(options, r); },
      [](Napi::Env env, const RestartResult& r) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("engine", r.engine);
        out.Set("pid", r.pid);
        out.Set("pids", Pids(env, r.pids));
        out.Set("seconds", r.seconds);
        if (r.children) out.Set("exited", WatchRestoredChild(env, r.pid));
        return out;
      },
      nullptr, options.cancel);
  return Cancellable(env, promise, options.cancel);
}

// drainAbandoned(timeoutMs): resolves true once no interrupted request's engine is still at work
// (its leftovers are then cleaned up), false if that took longer than timeoutMs.
Napi::Value DrainAbandonedBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) Bad(env, "drainAbandoned(timeoutMs) needs a number");
  const int timeout_ms = info[0].As<Napi::Number>().Int32Value();
  return Queue<bool>(
      env, "crftb.drainAbandoned",
      [timeout_ms](bool* drained) {
        *drained = WaitAbandoned(timeout_ms);
        return Failure::None();
      },
      [](Napi::Env env, const bool& drained) -> Napi::Value { return Napi::Boolean::New(env, drained); });
}

Napi::Value ProbeEngineBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Options o(info);
  std::string name;
  EngineConfig criu, blcr;
  o.Engines(&name, &criu, &blcr);
  return Queue<Capabilities>(
      env, "crftb.probeEngine",
      [name, criu, blcr](Capabilities* caps) {
        std::unique_ptr<Engine> engine;
        return SelectEngine(name, criu, blcr, &engine, caps);
      },
      [](Napi::Env env, const Capabilities& caps) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("engine", caps.engine);
        out.Set("version", caps.version);
        out.Set("library", caps.library);
        out.Set("selfCheckpoint", caps.self_checkpoint);
        out.Set("incremental", caps.incremental);
        out.Set("directoryImages", caps.directory_images);
        out.Set("publishesFtb", caps.publishes_ftb);
        return out;
      });
}

}  // namespace crftb::cr
