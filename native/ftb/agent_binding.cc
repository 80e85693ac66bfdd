// `binding.FtbAgent`: the agent as a JS object. Construction binds the socket and starts the
// native threads; ref/unref/close and the environment's end follow ServiceWrap (service_wrap.h).
#include "ftb/agent_binding.h"

#include <errno.h>

#include <memory>
#include <mutex>

#include "common/js_error.h"
#include "ftb/agent.h"
#include "ftb/config.h"
#include "ftb/js_options.h"
#include "ftb/service_wrap.h"

namespace crftb::ftb {

namespace {

// Carries agent events to JS; outlives the agent's threads, tolerates calls after close.
struct EventBridge {
  std::mutex mutex;
  bool active = false;
  Napi::ThreadSafeFunction tsfn;

  void Post(const AgentEvent& event) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!active) return;
    auto* copy = new AgentEvent(event);
    if (tsfn.NonBlockingCall(copy, Deliver) != napi_ok) delete copy;
  }
  void Shut() {
    std::lock_guard<std::mutex> lock(mutex);
    if (!active) return;
    active = false;
    tsfn.Release();
  }
  // The environment is going away and Node finalizes the TSFN itself: stop using it, no Release.
  void Forget() {
    std::lock_guard<std::mutex> lock(mutex);
    active = false;
  }
  static void Deliver(Napi::Env env, Napi::Function callback, AgentEvent* event) {
    std::unique_ptr<AgentEvent> owned(event);
    if (env == nullptr || callback.IsEmpty()) return;
    Napi::Object out = Napi::Object::New(env);
    out.Set("kind", event->kind);
    out.Set("detail", event->detail);
    out.Set("level", event->level);
    out.Set("parent", event->parent);
    callback.Call({out});
  }
};

class AgentWrap : public ServiceWrap<AgentWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    auto methods = HandleMethods();
    methods.push_back(InstanceMethod<&AgentWrap::Address>("address"));
    methods.push_back(InstanceMethod<&AgentWrap::Stats>("stats"));
    return DefineClass(env, "FtbAgent", methods);
  }

  explicit AgentWrap(const Napi::CallbackInfo& info) : ServiceWrap<AgentWrap>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject() || !info[1].IsFunction()) {
      Throw(env, Failure::System(EINVAL, "FtbAgent(options, onEvent): options object and callback required"));
    }
    const Napi::Object js = info[0].As<Napi::Object>();
    ConfigOverrides overrides;
    overrides.agent_port = OptionalInt(js, "port", 0, 65535);
    overrides.bootstrap_server = OptionalString(js, "bootstrapHost");
    overrides.bootstrap_port = OptionalInt(js, "bootstrapPort", 1, 65535);
    overrides.config_file = OptionalString(js, "configFile");
    const Config config = ResolveConfig(overrides);

    AgentOptions options;
    options.host = OptionalString(js, "host").value_or("127.0.0.1");
    options.port = config.agent_port;
    options.advertise = OptionalString(js, "advertise").value_or("");
    // No bootstrap server configured anywhere: a standalone agent (FTB would exit instead).
    if (OptionalBool(js, "bootstrap").value_or(true) && config.has_bootstrap_server) {
      options.bootstrap_host = config.bootstrap_server;
      options.bootstrap_port = config.bootstrap_port;
    }
    if (auto kib = OptionalInt(js, "clientQueueKiB", 4, 1 << 20)) options.client_queue_bytes = size_t(*kib) << 10;
    if (auto kib = OptionalInt(js, "agentQueueKiB", 4, 1 << 20)) options.agent_queue_bytes = size_t(*kib) << 10;
    if (auto ms = OptionalInt(js, "handshakeTimeoutMs", 10, 3600000)) options.handshake_timeout_ms = *ms;
    if (auto ms = OptionalInt(js, "connectTimeoutMs", 10, 600000)) options.connect_timeout_ms = *ms;
    if (auto n = OptionalInt(js, "maxConnections", 1, 1 << 20)) options.max_connections = size_t(*n);
    if (auto n = OptionalInt(js, "maxSubscriptionsPerClient", 1, 1 << 24))
      options.peer_limits.masks_per_client = size_t(*n);
    if (auto n = OptionalInt(js, "maxSubscriptionsPerPeer", 1, 1 << 24))
      options.peer_limits.masks_per_conn = size_t(*n);
    if (auto n = OptionalInt(js, "maxClientsPerConnection", 1, 1 << 24)) options.peer_limits.ids_per_conn = size_t(*n);
    if (auto n = OptionalInt(js, "maxClients", 1, 1 << 24)) options.peer_limits.ids = size_t(*n);
    // Below a peer's own hard bound (2 × its queue), that peer may be closed for the agent's
    // total before its own bound is reached; the README says so, the minimum only rules out nonsense.
    if (auto kib = OptionalInt(js, "maxQueuedKiB", 1024, 1 << 30)) options.max_queued_bytes = size_t(*kib) << 10;
    options.compact_frames = OptionalBool(js, "compactFrames").value_or(options.compact_frames);

    bridge_ = std::make_shared<EventBridge>();
    bridge_->tsfn = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "crftb:agent-events", 0, 1);
    bridge_->tsfn.Unref(env);
    bridge_->active = true;

    Failure failure;
    std::shared_ptr<EventBridge> bridge = bridge_;
    agent_ = Agent::Start(
        options, [bridge](const AgentEvent& event) { bridge->Post(event); }, &failure);
    if (!agent_) {
      bridge_->Shut();
      Throw(env, failure);
    }
    bootstrap_ = options.bootstrap_host ? *options.bootstrap_host + ":" + std::to_string(options.bootstrap_port) : "";
    Hold(env);  // a running agent is not collected, even if JS drops every reference to it
  }

  ~AgentWrap() override {
    Unhook();
    if (agent_) agent_->Stop();
    if (bridge_) bridge_->Shut();
  }

 private:
  friend class ServiceWrap<AgentWrap>;
  void StopService() {
    if (agent_) agent_->Stop();
  }
  void OnStopped() { bridge_->Shut(); }
  void OnEnvGone() { bridge_->Forget(); }

  Napi::Value Address(const Napi::CallbackInfo& info) {
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("host", agent_->host());
    out.Set("port", agent_->port());
    out.Set("advertise", agent_->advertise());
    out.Set("bootstrap", bootstrap_.empty() ? info.Env().Null() : Napi::String::New(info.Env(), bootstrap_));
    return out;
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const AgentStats s = agent_->stats();
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("connections", double(s.connections));
    out.Set("clients", double(s.clients));
    out.Set("agents", double(s.agents));
    out.Set("subscriptions", double(s.subscriptions));
    out.Set("messagesReceived", double(s.messages_received));
    out.Set("eventsReceived", double(s.events_received));
    out.Set("eventsRouted", double(s.events_routed));
    out.Set("eventsDropped", double(s.events_dropped));
    out.Set("backpressurePauses", double(s.backpressure_pauses));
    out.Set("peersRejected", double(s.peers_rejected));
    out.Set("peersOverLimit", double(s.peers_over_limit));
    out.Set("connectionsRefused", double(s.connections_refused));
    out.Set("subscriptionsRefused", double(s.subscriptions_refused));
    out.Set("clientsRefused", double(s.clients_refused));
    out.Set("peersEvicted", double(s.peers_evicted));
    out.Set("queuedBytes", double(s.queued_bytes));
    out.Set("masksExamined", double(s.masks_examined));
    out.Set("reattachments", double(s.reattachments));
    out.Set("attached", s.attached);
    out.Set("level", s.level);
    out.Set("parent", s.parent.empty() ? env.Null() : Napi::String::New(env, s.parent));
    return out;
  }

  std::unique_ptr<Agent> agent_;
  std::shared_ptr<EventBridge> bridge_;
  std::string bootstrap_;
};

}  // namespace

void RegisterAgentBinding(Napi::Env env, Napi::Object exports) { exports.Set("FtbAgent", AgentWrap::Define(env)); }

}  // namespace crftb::ftb
