// JS face of the FTB client (client.h): `binding.FtbClientNative`. Blocking steps (connect,
// disconnect) run in AsyncWorkers; publish/subscribe/poll are non-blocking and run inline.
// Callback events reach JS through a bounded batch (js_client_batch.h): read on the JS thread
// itself while the TS layer has live listeners (js_client_reader.h), else carried over from the
// I/O thread by one ThreadSafeFunction per client. The TSFN is unref'd unless there are live
// listeners.
#include "ftb/client_binding.h"

#include "common/js_error.h"
#include "common/js_instance.h"
#include "ftb/client.h"
#include "ftb/codes.h"
#include "ftb/event_handle.h"
#include "ftb/js_client_batch.h"
#include "ftb/js_client_reader.h"
#include "ftb/js_codec.h"
#include "ftb/js_options.h"

namespace crftb::ftb {
namespace {

constexpr size_t kDefaultCallbackQueue = 65536;

class FtbClientNative;

// Per JS environment (main thread, each worker): the class constructor, as instance data.
struct EnvClients {
  Napi::FunctionReference ctor;
};

std::string StringOption(Napi::Object o, const char* key, const std::string& fallback = "") {
  if (!o.Has(key) || o.Get(key).IsUndefined() || o.Get(key).IsNull()) return fallback;
  return o.Get(key).ToString().Utf8Value();
}

std::optional<int> IntOption(Napi::Object o, const char* key) {
  if (!o.Has(key) || !o.Get(key).IsNumber()) return std::nullopt;
  return o.Get(key).ToNumber().Int32Value();
}

class ConnectWorker;
class CloseWorker;

class FtbClientNative : public Napi::ObjectWrap<FtbClientNative> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(
        env, "FtbClientNative",
        {StaticMethod("connect", &FtbClientNative::Connect),
         StaticMethod("connectionStats", &FtbClientNative::ConnectionStatsJs),
         StaticMethod("compareEventHandles", &FtbClientNative::CompareHandles),
         StaticMethod("eventHandleOf", &FtbClientNative::HandleOf),
         InstanceMethod("declare", &FtbClientNative::Declare),
         InstanceMethod("declareSchemaFile", &FtbClientNative::DeclareSchemaFile),
         InstanceMethod("publish", &FtbClientNative::Publish),
         InstanceMethod("flushPublished", &FtbClientNative::FlushPublished),
         InstanceMethod("subscribe", &FtbClientNative::Subscribe), InstanceMethod("poll", &FtbClientNative::Poll),
         InstanceMethod("unsubscribe", &FtbClientNative::Unsubscribe), InstanceMethod("close", &FtbClientNative::Close),
         InstanceMethod("stats", &FtbClientNative::Stats), InstanceMethod("ref", &FtbClientNative::Ref),
         InstanceMethod("unref", &FtbClientNative::Unref)});
  }

  FtbClientNative(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FtbClientNative>(info) {
    // new FtbClientNative(external<shared_ptr<Client>>, onEvent, callbackQueueLimit)
    auto* client = info[0].As<Napi::External<std::shared_ptr<Client>>>().Data();
    client_ = *client;
    size_t limit = info[2].IsNumber() ? info[2].ToNumber().Uint32Value() : kDefaultCallbackQueue;
    tsfn_ = Napi::ThreadSafeFunction::New(info.Env(), info[1].As<Napi::Function>(), "crftb-ftb-events", 0, 1);
    tsfn_.Unref(info.Env());
    batch_ = std::make_shared<JsEventBatch>(tsfn_, limit, client_);
    reader_ = std::make_shared<JsThreadReader>(info.Env(), client_, batch_, info[1].As<Napi::Function>());
    // A batch that came the long way (through the TSFN) means the JS thread is not reading the
    // socket itself: try again (after a reconnect, or once a laggard elsewhere caught up).
    std::weak_ptr<JsThreadReader> reader = reader_;
    batch_->SetAfterDrain([reader](bool) {
      if (auto r = reader.lock()) r->Retry();
    });
    // Registered after the TSFN, so it runs before the TSFN's own teardown: at process or worker
    // exit the client is disconnected (I/O thread joined) while its TSFN is still valid.
    cleanup_ = info.Env().AddCleanupHook(&FtbClientNative::OnEnvCleanup, this);
    has_cleanup_ = true;
    std::shared_ptr<JsEventBatch> batch = batch_;
    client_->SetPollReady([batch](const ReceivedEvent&) {
      batch->MarkReadable();
      return true;
    });
    client_->SetConsumerBehind([batch] { return batch->Behind(); });
  }

  ~FtbClientNative() override {
    if (has_cleanup_) cleanup_.Remove(Env());
    has_cleanup_ = false;
    Shutdown();
  }

  static void OnEnvCleanup(FtbClientNative* self) {
    self->has_cleanup_ = false;
    self->Shutdown();
  }

  // Disconnects (if still connected) and releases the TSFN; safe to call twice.
  void Shutdown() {
    if (reader_) reader_->Stop();
    if (client_) {
      client_->Disconnect();
      client_.reset();
    }
    if (!released_) {
      released_ = true;
      tsfn_.Release();
    }
  }

  // close(): the CloseWorker disconnects, then releases the TSFN it takes over from here — in
  // that order, so no I/O-thread callback can touch a released TSFN.
  void HandOver(std::shared_ptr<Client>* client, std::optional<Napi::ThreadSafeFunction>* tsfn) {
    if (reader_) reader_->Stop();
    *client = std::move(client_);
    client_.reset();
    if (!released_) {
      released_ = true;
      *tsfn = tsfn_;
    }
  }

 private:
  Client& Live(Napi::Env env) {
    if (!client_) Throw(env, CodeFailure(kErrInvalidHandle, "this FTB client is closed"));
    return *client_;
  }

  static Napi::Value Connect(const Napi::CallbackInfo& info);
  static Napi::Value ConnectionStatsJs(const Napi::CallbackInfo& info) {
    ConnectionStats s = Client::ProcessConnection();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("connected", s.connected);
    o.Set("fd", s.fd);
    o.Set("agent", s.agent);
    o.Set("reconnects", static_cast<double>(s.reconnects));
    o.Set("losses", static_cast<double>(s.losses));
    o.Set("backlogBytes", static_cast<double>(s.backlog_bytes));
    o.Set("readOnJsThread", s.read_elsewhere);
    o.Set("compactFrames", s.compact_frames);
    o.Set("ignored", static_cast<double>(s.ignored));
    o.Set("unaddressed", static_cast<double>(s.unaddressed));
    return o;
  }

  static Napi::Value CompareHandles(const Napi::CallbackInfo& info) {
    auto a = info[0].As<Napi::Buffer<uint8_t>>();
    auto b = info[1].As<Napi::Buffer<uint8_t>>();
    if (a.Length() != sizeof(wire::EventHandle) || b.Length() != sizeof(wire::EventHandle)) {
      Throw(info.Env(), CodeFailure(kErrInvalidHandle, "event handles are 360 bytes"));
    }
    wire::EventHandle x, y;
    memcpy(&x, a.Data(), sizeof(x));
    memcpy(&y, b.Data(), sizeof(y));
    return Napi::Boolean::New(info.Env(), EventHandlesEqual(x, y));
  }

  // eventHandleOf(compact 1336-byte event) → 360-byte handle, or null (event space unusable)
  static Napi::Value HandleOf(const Napi::CallbackInfo& info) {
    auto bytes = info[0].As<Napi::Buffer<uint8_t>>();
    if (bytes.Length() != sizeof(wire::Message)) {
      ThrowCoded(info.Env(), "ERR_INVALID_ARG_VALUE", "a received event is 1336 bytes");
    }
    wire::Message m;
    memcpy(&m, bytes.Data(), sizeof(m));
    wire::EventHandle handle;
    if (!EventHandleFromReceived(m.event, m.src.location, m.src.client.ext, &handle).ok()) {
      return info.Env().Null();
    }
    return Napi::Buffer<uint8_t>::Copy(info.Env(), reinterpret_cast<const uint8_t*>(&handle), sizeof(handle));
  }

  Napi::Value Declare(const Napi::CallbackInfo& info) {
    Napi::Array list = info[0].As<Napi::Array>();
    std::vector<EventDeclaration> events;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Object e = list.Get(i).As<Napi::Object>();
      events.push_back({StringOption(e, "name"), StringOption(e, "severity")});
    }
    Failure f = Live(info.Env()).Declare(events);
    if (!f.ok()) Throw(info.Env(), f);
    return info.Env().Undefined();
  }

  Napi::Value DeclareSchemaFile(const Napi::CallbackInfo& info) {
    Failure f = Live(info.Env()).DeclareSchemaFile(info[0].ToString());
    if (!f.ok()) Throw(info.Env(), f);
    return info.Env().Undefined();
  }

  // publish(name, eventType, payload?, out?, offset?) → 360-byte event handle, or, when written
  // into `out` at `offset` (the TS layer hands out views of a shared pool, which saves a Buffer
  // allocation per publish), whether the caller owes a flushPublished() at the end of its run of
  // JavaScript (the message waits in the backlog: Connection::Send's caller_flushes).
  Napi::Value Publish(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const uint8_t* data = nullptr;
    size_t length = 0;
    if (info[2].IsBuffer()) {
      auto payload = info[2].As<Napi::Buffer<uint8_t>>();
      data = payload.Data();
      length = payload.Length();
    }
    wire::EventHandle handle;
    bool flush_owed = false;
    Failure f = Live(env).Publish(info[0].ToString(), info[1].ToNumber().Int32Value(), data, length, &handle,
                                  info[3].IsBuffer() ? &flush_owed : nullptr);
    if (!f.ok()) Throw(env, f);
    if (info[3].IsBuffer()) {
      auto out = info[3].As<Napi::Buffer<uint8_t>>();
      const double offset = info[4].IsNumber() ? info[4].As<Napi::Number>().DoubleValue() : -1;
      if (!(offset >= 0) || offset + sizeof(handle) > out.Length()) {
        ThrowCoded(env, "ERR_OUT_OF_RANGE", "no room for a 360-byte event handle at that offset");
      }
      memcpy(out.Data() + static_cast<size_t>(offset), &handle, sizeof(handle));
      return Napi::Boolean::New(env, flush_owed);
    }
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&handle), sizeof(handle));
  }

  // flushPublished(): a no-op once the client is closed (its backlog went with it).
  Napi::Value FlushPublished(const Napi::CallbackInfo& info) {
    if (client_) client_->FlushPublished();
    return info.Env().Undefined();
  }

  // subscribe(text, withCallback) → subscription id
  Napi::Value Subscribe(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    SubscribeCallback callback;
    if (info[1].ToBoolean()) {
      std::shared_ptr<JsEventBatch> batch = batch_;
      callback = [batch](const ReceivedEvent& event) { return batch->Append(event); };
    }
    uint64_t id = 0;
    Failure f = Live(env).Subscribe(info[0].ToString(), std::move(callback), &id);
    if (!f.ok() && id == 0) Throw(env, f);
    if (!f.ok()) {  // stored locally (re-sent after reconnect) but not sent now: report both
      Napi::Error e = ToJsError(env, f);
      e.Set("subscriptionId", Napi::Number::New(env, static_cast<double>(id)));
      throw e;
    }
    return Napi::Number::New(env, static_cast<double>(id));
  }

  Napi::Value Poll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    ReceivedEvent event;
    Failure f = Live(env).Poll(static_cast<uint64_t>(info[0].ToNumber().Int64Value()), &event);
    if (f.errnum == kGotNoEvent) return env.Null();
    if (!f.ok()) Throw(env, f);
    auto record = Napi::Buffer<uint8_t>::New(env, sizeof(wire::Message));
    WriteCompact(event, record.Data());
    return record;
  }

  Napi::Value Unsubscribe(const Napi::CallbackInfo& info) {
    Failure f = Live(info.Env()).Unsubscribe(static_cast<uint64_t>(info[0].ToNumber().Int64Value()));
    if (!f.ok()) Throw(info.Env(), f);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info);

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object o = Napi::Object::New(env);
    if (!client_) {
      o.Set("closed", true);
      return o;
    }
    ClientStats s = client_->Stats();
    o.Set("closed", false);
    o.Set("published", static_cast<double>(s.published));
    o.Set("received", static_cast<double>(s.received));
    o.Set("callbackDelivered", static_cast<double>(s.callback_delivered));
    o.Set("callbackDropped", static_cast<double>(s.callback_dropped));
    o.Set("pollQueued", static_cast<double>(s.poll_queued));
    o.Set("pollDropped", static_cast<double>(s.poll_dropped));
    o.Set("discarded", static_cast<double>(s.discarded));
    o.Set("pollQueueLength", static_cast<double>(s.poll_queue_length));
    o.Set("pollQueueCapacity", static_cast<double>(s.poll_queue_capacity));
    return o;
  }

  // ref()/unref(): the TS layer has live listeners or waiters / no more. While it has, the
  // socket is read on this thread.
  Napi::Value Ref(const Napi::CallbackInfo& info) {
    if (!released_) tsfn_.Ref(info.Env());
    if (client_ && reader_) reader_->Want(true);
    return info.Env().Undefined();
  }
  Napi::Value Unref(const Napi::CallbackInfo& info) {
    if (!released_) tsfn_.Unref(info.Env());
    if (reader_) reader_->Want(false);
    return info.Env().Undefined();
  }

  std::shared_ptr<Client> client_;
  Napi::ThreadSafeFunction tsfn_;
  bool released_ = false;
  std::shared_ptr<JsEventBatch> batch_;
  std::shared_ptr<JsThreadReader> reader_;
  Napi::Env::CleanupHook<void (*)(FtbClientNative*), FtbClientNative> cleanup_;
  bool has_cleanup_ = false;
};

class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, ClientInfo info, ConnectOptions options, Napi::Function ctor, Napi::Function on_event,
                uint32_t queue_limit)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        info_(std::move(info)),
        options_(std::move(options)),
        queue_limit_(queue_limit) {
    ctor_ = Napi::Persistent(ctor);
    on_event_ = Napi::Persistent(on_event);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { failure_ = Client::Connect(info_, options_, &client_); }
  void OnOK() override {
    Napi::Env env = Env();
    if (!failure_.ok()) {
      deferred_.Reject(ToJsError(env, failure_).Value());
      return;
    }
    auto external = Napi::External<std::shared_ptr<Client>>::New(env, &client_);
    Napi::Object obj = ctor_.New({external, on_event_.Value(), Napi::Number::New(env, queue_limit_)});
    deferred_.Resolve(obj);
  }

 private:
  Napi::Promise::Deferred deferred_;
  ClientInfo info_;
  ConnectOptions options_;
  uint32_t queue_limit_;
  Napi::FunctionReference ctor_;
  Napi::FunctionReference on_event_;
  std::shared_ptr<Client> client_;
  Failure failure_;
};

// connect(clientInfo, options, onEvent) → Promise<FtbClientNative>
Napi::Value FtbClientNative::Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object ci = info[0].As<Napi::Object>();
  Napi::Object op = info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  ClientInfo client;
  client.event_space = StringOption(ci, "eventSpace");
  client.client_name = StringOption(ci, "clientName");
  client.jobid = StringOption(ci, "jobId");
  client.subscription_style = StringOption(ci, "subscriptionStyle", "FTB_SUBSCRIPTION_NONE");
  client.polling_queue_len = IntOption(ci, "pollingQueueLength").value_or(0);
  // Every option is checked for type and range (EINVAL naming it), never coerced: a port given
  // as a string or a negative queue limit is an error, not a silent default or 4294967295.
  constexpr int kMaxMs = 24 * 3600 * 1000;
  ConnectOptions options;
  if (auto host = OptionalString(op, "agentHost")) options.agent_host = *host;
  options.agent_port = OptionalInt(op, "agentPort", 1, 65535);
  options.config.bootstrap_port = OptionalInt(op, "bootstrapPort", 1, 65535);
  if (auto server = OptionalString(op, "bootstrapServer")) options.config.bootstrap_server = *server;
  if (auto file = OptionalString(op, "configFile")) options.config.config_file = *file;
  options.connect_timeout_ms = OptionalInt(op, "connectTimeoutMs", 1, kMaxMs).value_or(options.connect_timeout_ms);
  options.reconnect = OptionalBool(op, "reconnect").value_or(options.reconnect);
  options.reconnect_initial_ms =
      OptionalInt(op, "reconnectInitialMs", 1, kMaxMs).value_or(options.reconnect_initial_ms);
  options.reconnect_max_ms = OptionalInt(op, "reconnectMaxMs", 1, kMaxMs).value_or(options.reconnect_max_ms);
  options.host_address = OptionalString(op, "hostAddress").value_or("");
  if (auto backlog = OptionalInt(op, "sendBacklogBytes", 1, 0x7fffffff)) options.send_backlog_bytes = *backlog;
  if (auto most = OptionalInt(op, "maxSubscriptions", 1, 0x7fffffff)) options.max_subscriptions = size_t(*most);
  options.compact_frames = OptionalBool(op, "compactFrames").value_or(options.compact_frames);
  const uint32_t queue_limit = OptionalInt(op, "callbackQueueLimit", 1, 0x7fffffff).value_or(kDefaultCallbackQueue);
  auto* worker = new ConnectWorker(env, client, options, Instance::Get<EnvClients>(env).ctor.Value(),
                                   info[2].As<Napi::Function>(), queue_limit);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

class CloseWorker : public Napi::AsyncWorker {
 public:
  CloseWorker(Napi::Env env, std::shared_ptr<Client> client, std::optional<Napi::ThreadSafeFunction> tsfn)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), client_(std::move(client)), tsfn_(tsfn) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { failure_ = client_->Disconnect(); }
  void OnOK() override {
    client_.reset();
    if (tsfn_) tsfn_->Release();
    if (failure_.ok() || failure_.Is(kErrNetworkGeneral)) {
      deferred_.Resolve(Env().Undefined());  // local cleanup is done either way
    } else {
      deferred_.Reject(ToJsError(Env(), failure_).Value());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Client> client_;
  std::optional<Napi::ThreadSafeFunction> tsfn_;
  Failure failure_;
};

Napi::Value FtbClientNative::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!client_) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  std::shared_ptr<Client> client;
  std::optional<Napi::ThreadSafeFunction> tsfn;
  HandOver(&client, &tsfn);
  auto* worker = new CloseWorker(env, std::move(client), tsfn);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterClientBinding(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = FtbClientNative::Init(env);
  Instance::Get<EnvClients>(env).ctor = Napi::Persistent(ctor);
  exports.Set("FtbClientNative", ctor);
}

}  // namespace crftb::ftb
