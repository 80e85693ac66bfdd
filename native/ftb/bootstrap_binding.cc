#include "ftb/bootstrap_binding.h"

#include <errno.h>

#include <memory>

#include "common/js_error.h"
#include "ftb/bootstrap_server.h"
#include "ftb/config.h"
#include "ftb/js_options.h"
#include "ftb/service_wrap.h"

namespace crftb::ftb {

namespace {

class BootstrapWrap : public ServiceWrap<BootstrapWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    auto methods = HandleMethods();
    methods.push_back(InstanceMethod<&BootstrapWrap::Address>("address"));
    methods.push_back(InstanceMethod<&BootstrapWrap::Stats>("stats"));
    return DefineClass(env, "FtbBootstrapServer", methods);
  }

  explicit BootstrapWrap(const Napi::CallbackInfo& info) : ServiceWrap<BootstrapWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject())
      Throw(env, Failure::System(EINVAL, "FtbBootstrapServer(options): options object required"));
    const Napi::Object js = info[0].As<Napi::Object>();
    ConfigOverrides overrides;
    overrides.bootstrap_port = OptionalInt(js, "port", 0, 65535);
    overrides.config_file = OptionalString(js, "configFile");
    BootstrapServerOptions options;
    options.port = ResolveConfig(overrides).bootstrap_port;
    options.host = OptionalString(js, "host").value_or("127.0.0.1");
    options.fanout = static_cast<unsigned>(OptionalInt(js, "fanout", 0, 1 << 20).value_or(0));
    options.liveness = OptionalBool(js, "liveness").value_or(true);
    options.liveness_interval_ms = OptionalInt(js, "livenessIntervalMs", 0, 86400000).value_or(5000);
    options.probe_timeout_ms = OptionalInt(js, "probeTimeoutMs", 1, 60000).value_or(500);
    if (auto n = OptionalInt(js, "maxAgents", 1, 1 << 20)) options.max_agents = size_t(*n);
    if (auto n = OptionalInt(js, "maxAgentsPerSource", 1, 1 << 20)) options.max_agents_per_source = size_t(*n);
    if (auto n = OptionalInt(js, "maxRequestsPerSecond", 0, 1 << 20)) options.max_requests_per_second = unsigned(*n);

    Failure failure;
    server_ = BootstrapServer::Start(options, &failure);
    if (!server_) Throw(env, failure);
    Hold(env);
  }

  ~BootstrapWrap() override {
    Unhook();
    if (server_) server_->Stop();
  }

 private:
  friend class ServiceWrap<BootstrapWrap>;
  void StopService() {
    if (server_) server_->Stop();
  }

  Napi::Value Address(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("host", server_->host());
    out.Set("port", server_->port());
    return out;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const BootstrapServerStats s = server_->stats();
    Napi::Object out = Napi::Object::New(env);
    out.Set("requests", double(s.requests));
    out.Set("replies", double(s.replies));
    out.Set("unanswered", double(s.ignored));
    out.Set("removedDead", double(s.removed_dead));
    out.Set("rateLimited", double(s.rate_limited));
    out.Set("registrationsRefused", double(s.registrations_refused));
    out.Set("entriesExamined", double(s.entries_examined));
    Napi::Array agents = Napi::Array::New(env, s.entries.size());
    for (size_t i = 0; i < s.entries.size(); ++i) {
      const BootstrapEntry& e = s.entries[i];
      Napi::Object entry = Napi::Object::New(env);
      entry.Set("address", e.addr.name);
      entry.Set("port", e.addr.port);
      entry.Set("level", double(e.level));
      entry.Set("crossedOut", e.crossed_out);
      entry.Set("children", double(i < s.children.size() ? s.children[i] : 0));
      entry.Set("parent",
                e.parent ? Napi::Value(Napi::String::New(env, e.parent->name + ":" + std::to_string(e.parent->port)))
                         : env.Null());
      agents.Set(i, entry);
    }
    out.Set("agents", agents);
    return out;
  }

  std::unique_ptr<BootstrapServer> server_;
};

}  // namespace

void RegisterBootstrapBinding(Napi::Env env, Napi::Object exports) {
  exports.Set("FtbBootstrapServer", BootstrapWrap::Define(env));
}

}  // namespace crftb::ftb
