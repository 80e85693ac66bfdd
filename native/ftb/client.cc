#include "ftb/client.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "common/deadline.h"
#include "common/unique_fd.h"
#include "ftb/codes.h"
#include "ftb/connection.h"
#include "ftb/event_handle.h"
#include "ftb/identity.h"
#include "ftb/names.h"
#include "ftb/schema_file.h"
#include "ftb/subscription.h"

namespace crftb::ftb {
namespace {

constexpr size_t kMaxDeclaredEvents = 100;
constexpr int kDefaultPollingQueue = 64;

// The process' connection. process_mu serialises Connect/Disconnect (it is held during a first
// connect, which may take up to its timeout); pointer_mu only guards reads of the pointer, so
// ProcessConnection() never waits for a connect in progress.
std::mutex process_mu;
std::mutex pointer_mu;
std::shared_ptr<Connection> process_connection;
int process_suspensions = 0;              // SuspendProcessConnection calls not yet resumed
std::condition_variable process_resumed;  // process_suspensions went to 0

void SetProcessConnection(std::shared_ptr<Connection> connection) {
  std::lock_guard<std::mutex> lock(pointer_mu);
  process_connection = std::move(connection);
}

Failure NotConnected() { return CodeFailure(kErrInvalidHandle, "this FTB client is disconnected"); }

}  // namespace

struct Client::State : ConnectionClient {
  struct Subscription {
    uint64_t id;
    wire::Event mask;
    // Null for polling subscriptions. Shared so that delivering an event copies a pointer, not
    // the std::function (whose captures would be heap-allocated once per event).
    std::shared_ptr<const SubscribeCallback> callback;
  };

  ClientInfo info;
  Style style = kStyleNone;
  wire::ClientId id{};
  std::shared_ptr<Connection> connection;

  mutable std::mutex mu;  // everything below
  bool connected = false;
  std::vector<EventDeclaration> declared;
  uint16_t seqnum = 0;
  uint64_t next_subscription = 1;
  std::vector<Subscription> subscriptions;
  std::deque<ReceivedEvent> polling_queue;
  size_t polling_capacity = kDefaultPollingQueue;
  size_t max_subscriptions = kDefaultMaxSubscriptionsPerClient;
  ClientStats stats;

  // Held while a callback runs, so Unsubscribe/Disconnect can wait for it to finish.
  std::mutex dispatch_mu;

  const wire::ClientId& client_id() const override { return id; }

  std::vector<wire::Event> SubscriptionMasks() const override {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<wire::Event> masks;
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& s : subscriptions) {
        if (static_cast<bool>(s.callback) == (pass == 1)) masks.push_back(s.mask);
      }
    }
    return masks;
  }

  void Deliver(const wire::Message& message) override {
    ReceivedEvent event;
    event.event = message.event;
    event.source = message.src.location;
    event.client_extension = message.src.client.ext;
    event.subscription_id = 0;
    // Held across lookup and call, so Unsubscribe/Disconnect (which take it after removing the
    // subscription) never return while a callback they removed may still run.
    std::lock_guard<std::mutex> running(dispatch_mu);
    std::shared_ptr<const SubscribeCallback> callback;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!connected) return;
      ++stats.received;
      if (CanNotify(style)) {
        for (const auto& s : subscriptions) {  // first matching callback only (§12.1)
          if (s.callback && Matches(message.event, s.mask)) {
            callback = s.callback;
            event.subscription_id = s.id;
            break;
          }
        }
      }
      if (!callback) {
        if (!CanPoll(style)) {
          ++stats.discarded;
          return;
        }
        if (polling_queue.size() >= polling_capacity) {  // drop-oldest, FTB's policy
          polling_queue.pop_front();
          ++stats.poll_dropped;
        }
        polling_queue.push_back(event);
        ++stats.poll_queued;
        callback = poll_ready;
        if (!callback) return;
      }
    }
    bool accepted;
    accepted = (*callback)(event);
    if (event.subscription_id != 0) {
      std::lock_guard<std::mutex> lock(mu);
      if (accepted) {
        ++stats.callback_delivered;
      } else {
        ++stats.callback_dropped;
      }
    }
  }

  // Optional: called (on the I/O thread, must not block) when the polling queue got an event,
  // with subscription_id 0. Set before subscribing; used by the JS binding to wake pollers.
  std::shared_ptr<const SubscribeCallback> poll_ready;

  std::function<bool()> consumer_behind;  // guarded by mu (lock order: connection, mu, consumer's)
  bool ConsumerBehind() const override {
    std::lock_guard<std::mutex> lock(mu);
    return consumer_behind && consumer_behind();
  }

  wire::Message NewMessage(int32_t type) const {
    wire::Message m;
    memset(&m, 0, sizeof(m));
    m.msg_type = type;
    m.src = MakeFtbId(connection->me(), id);
    return m;
  }

  // One declaration; *duplicate when the name was already declared (ignoring case).
  Failure DeclareOneLocked(const std::string& name, const std::string& severity, bool* duplicate) {
    *duplicate = false;
    if (declared.size() >= kMaxDeclaredEvents) {
      return CodeFailure(kErrGeneral, "a client may declare at most 100 events");
    }
    Failure bad = ValidateDeclaration(name, severity);
    if (!bad.ok()) return bad;
    for (const auto& d : declared) {
      if (SameName(d.name, name)) {
        *duplicate = true;
        return Failure::None();
      }
    }
    declared.push_back({name, severity});
    return Failure::None();
  }
};

Failure Client::Connect(const ClientInfo& info, const ConnectOptions& options, std::shared_ptr<Client>* out) {
  Style style;
  Failure bad = ParseSubscriptionStyle(info.subscription_style, &style);
  if (bad.ok()) bad = ParseEventSpace(info.event_space, nullptr);
  if (bad.ok()) bad = ValidateClientName(info.client_name);
  if (bad.ok()) bad = ValidateJobId(info.jobid);
  if (!bad.ok()) return bad;
  EventSpace space;
  ParseEventSpace(info.event_space, &space);

  auto state = std::make_shared<State>();
  state->info = info;
  state->style = style;
  state->id = MakeClientId(space, info.client_name, 0);
  if (info.polling_queue_len > 0) state->polling_capacity = info.polling_queue_len;
  state->max_subscriptions = options.max_subscriptions;
  state->stats.poll_queue_capacity = state->polling_capacity;

  std::unique_lock<std::mutex> lock(process_mu);
  if (!process_connection && process_suspensions > 0) {
    // A checkpoint of this process is running: a socket opened now would be in its image.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.connect_timeout_ms);
    if (!process_resumed.wait_until(lock, until, [] { return process_suspensions == 0; })) {
      return CodeFailure(kErrNetworkNoRoute,
                         "not connected: a checkpoint of this process was still "
                         "running when the connect timeout expired");
    }
  }
  // One connection per process: a connect naming another agent must not silently join the one
  // that exists (it would publish to and hear from the wrong agent).
  if (process_connection) {
    const std::string wanted = RequestedAgent(options);
    const std::string current = process_connection->Stats().agent;
    if (!wanted.empty() && wanted != current && wanted != RequestedAgent(process_connection->options())) {
      return Failure::System(EISCONN, "this process is already connected to the FTB agent at " + current +
                                          " and crftb keeps one FTB connection per process (shared by its "
                                          "clients and its checkpoint events), so a client for the agent at " +
                                          wanted +
                                          " cannot be connected; use that agent, or connect from "
                                          "another process");
    }
  }
  if (process_connection && process_connection->Find(state->id)) {
    return CodeFailure(kErrDupCall, "a client " + info.event_space + "/" + info.client_name +
                                        " (same category, component and name) is already "
                                        "connected in this process");
  }
  if (!process_connection) {
    if (!options.host_address.empty()) SetProcessAddressOverride(options.host_address);
    const wire::LocationId me = MakeLocation(ProcessAddress(), FormatStartTime(time(nullptr)), getpid());
    UniqueFd fd;
    wire::LocationId agent;
    std::string where;
    Failure failed = OpenAgentConnection(options, me, DeadlineAfter(options.connect_timeout_ms), &fd, &agent, &where);
    if (!failed.ok()) return failed;
    SetProcessConnection(std::make_shared<Connection>(options, me, std::move(fd), agent, where));
  }
  state->connection = process_connection;
  state->connected = true;
  process_connection->Add(state);
  wire::Message reg = state->NewMessage(wire::kClientReg);
  Failure sent = process_connection->Send(&reg);
  if (!sent.ok() && !sent.Is(kErrNetworkNoRoute)) {
    // Registration did not go out; keep FTB's contract of returning the send result, but do
    // not leave a half-registered client behind.
    process_connection->Remove(state.get());
    state->connected = false;
    if (process_connection->ClientCount() == 0) {
      process_connection->Stop();
      SetProcessConnection(nullptr);
    }
    return sent;
  }
  out->reset(new Client(state));
  return Failure::None();
}

Client::~Client() {
  if (state_) Disconnect();
}

Failure Client::Declare(const std::vector<EventDeclaration>& events) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->connected) return NotConnected();
  for (const auto& e : events) {
    bool duplicate;
    Failure bad = state_->DeclareOneLocked(e.name, e.severity, &duplicate);
    if (!bad.ok()) return bad;
    if (duplicate) break;  // FTB: a duplicate ends the list, successfully
  }
  return Failure::None();
}

Failure Client::DeclareSchemaFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->connected) return NotConnected();
  return ParseSchemaFile(path, state_->info.event_space, [this](const std::string& name, const std::string& severity) {
    bool duplicate;
    return state_->DeclareOneLocked(name, severity, &duplicate);
  });
}

Failure Client::Publish(const std::string& event_name, int event_type, const void* payload, size_t payload_len,
                        wire::EventHandle* handle, bool* caller_flushes) {
  Failure bad = ValidatePublishName(event_name);
  if (!bad.ok()) return bad;
  wire::Message m;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->connected) return NotConnected();
    const EventDeclaration* declared = nullptr;
    for (const auto& d : state_->declared) {
      if (SameName(d.name, event_name)) {
        declared = &d;
        break;
      }
    }
    if (declared == nullptr) {
      return CodeFailure(kErrInvalidEventName, "event '" + event_name +
                                                   "' was not declared by this client; declare "
                                                   "it before publishing");
    }
    bad = ValidateEventType(event_type);
    if (!bad.ok()) return bad;
    if (payload_len > wire::kPayloadSize) {
      return CodeFailure(kErrInvalidValue,
                         "payload of " + std::to_string(payload_len) + " bytes exceeds FTB's 368 bytes");
    }
    m = state_->NewMessage(wire::kNotify);
    m.event.region = state_->id.region;
    m.event.comp_cat = state_->id.comp_cat;
    m.event.comp = state_->id.comp;
    m.event.event_name.set(event_name);
    m.event.severity.set(declared->severity);
    m.event.client_jobid.set(state_->info.jobid);
    m.event.client_name = state_->id.client_name;
    m.event.hostname = state_->connection->me().hostname;
    m.event.seqnum = ++state_->seqnum;
    m.event.event_type = static_cast<uint8_t>(event_type);
    if (payload_len > 0) memcpy(m.event.payload, payload, payload_len);
    ++state_->stats.published;
  }
  if (handle != nullptr) *handle = MakeEventHandle(m.event, state_->id, state_->connection->me());
  return state_->connection->Send(&m, caller_flushes);
}

void Client::FlushPublished() { state_->connection->FlushForCaller(); }

Failure Client::Subscribe(const std::string& subscription, SubscribeCallback callback, uint64_t* id) {
  wire::Message m;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->connected) return NotConnected();
    if (callback ? !CanNotify(state_->style) : !CanPoll(state_->style)) {
      return CodeFailure(kErrNotSupported,
                         std::string(callback ? "callback" : "polling") +
                             " subscriptions need a client connected with style " +
                             (callback ? "FTB_SUBSCRIPTION_NOTIFY or _BOTH" : "FTB_SUBSCRIPTION_POLLING or _BOTH") +
                             ", this one is " + StyleName(state_->style));
    }
    wire::Event mask;
    Failure bad = ParseSubscription(subscription, &mask);
    if (!bad.ok()) return bad;
    // Agents ignore subscriptions past their own cap without a word (FTB has no reply for one),
    // so the client refuses them where the caller can be told.
    if (state_->subscriptions.size() >= state_->max_subscriptions) {
      return CodeFailure(kErrGeneral, "this client already holds " + std::to_string(state_->subscriptions.size()) +
                                          " subscriptions, its maximum (maxSubscriptions); unsubscribe first");
    }
    const uint64_t new_id = state_->next_subscription++;
    state_->subscriptions.push_back(
        {new_id, mask, callback ? std::make_shared<const SubscribeCallback>(std::move(callback)) : nullptr});
    if (id != nullptr) *id = new_id;
    m = state_->NewMessage(wire::kRegSubscription);
    m.event = mask;
  }
  // Like FTB, the subscription stays stored when the send fails (it is re-sent on reconnect).
  return state_->connection->Send(&m);
}

Failure Client::Poll(uint64_t subscription_id, ReceivedEvent* out) {
  std::lock_guard<std::mutex> lock(state_->mu);
  if (!state_->connected) return NotConnected();
  if (!CanPoll(state_->style)) {
    return CodeFailure(kErrNotSupported, "polling needs style FTB_SUBSCRIPTION_POLLING or _BOTH");
  }
  const wire::Event* mask = nullptr;
  for (const auto& s : state_->subscriptions) {
    if (s.id == subscription_id && !s.callback) mask = &s.mask;
  }
  if (mask == nullptr) {
    return CodeFailure(kErrInvalidHandle, "no such polling subscription (unsubscribed?)");
  }
  auto& queue = state_->polling_queue;
  for (auto it = queue.begin(); it != queue.end(); ++it) {
    if (Matches(it->event, *mask)) {
      *out = *it;
      out->subscription_id = subscription_id;
      queue.erase(it);
      return Failure::None();
    }
  }
  return CodeFailure(kGotNoEvent, "no event");
}

Failure Client::Unsubscribe(uint64_t subscription_id) {
  wire::Message m;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->connected) return NotConnected();
    auto& subs = state_->subscriptions;
    auto it = std::find_if(subs.begin(), subs.end(), [&](const auto& s) { return s.id == subscription_id; });
    if (it == subs.end()) {
      return CodeFailure(kErrInvalidHandle, "no such subscription (already unsubscribed?)");
    }
    m = state_->NewMessage(wire::kSubscriptionCancel);
    m.event = it->mask;
    subs.erase(it);
  }
  { std::lock_guard<std::mutex> wait_for_running_callback(state_->dispatch_mu); }
  return state_->connection->Send(&m);
}

Failure Client::Disconnect() {
  std::lock_guard<std::mutex> process(process_mu);
  wire::Message m;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (!state_->connected) return NotConnected();
    state_->connected = false;
    state_->subscriptions.clear();
    state_->polling_queue.clear();
    m = state_->NewMessage(wire::kClientDereg);
  }
  { std::lock_guard<std::mutex> wait_for_running_callback(state_->dispatch_mu); }
  auto connection = state_->connection;
  Failure sent = connection->Send(&m);
  connection->Remove(state_.get());
  if (connection->ClientCount() == 0) {
    connection->Stop();
    if (process_connection == connection) SetProcessConnection(nullptr);
  }
  if (sent.Is(kErrNetworkNoRoute)) return Failure::None();  // nothing to tell
  return sent;
}

ClientStats Client::Stats() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  ClientStats s = state_->stats;
  s.poll_queue_length = state_->polling_queue.size();
  return s;
}

ConnectionStats Client::ProcessConnection() {
  std::shared_ptr<Connection> connection;
  {
    std::lock_guard<std::mutex> lock(pointer_mu);
    connection = process_connection;
  }
  if (!connection) return ConnectionStats{};
  return connection->Stats();
}

bool Client::SuspendProcessConnection(int flush_ms) {
  std::lock_guard<std::mutex> lock(process_mu);
  if (process_suspensions++ > 0 || !process_connection) return false;
  return process_connection->Suspend(flush_ms);
}

bool Client::ResumeProcessConnection(int connect_timeout_ms) {
  std::lock_guard<std::mutex> lock(process_mu);
  if (process_suspensions == 0 || --process_suspensions > 0) return false;
  process_resumed.notify_all();
  return process_connection ? process_connection->Resume(connect_timeout_ms) : false;
}

const wire::ClientId& Client::id() const { return state_->id; }
int Client::style() const { return state_->style; }

void Client::SetConsumerBehind(std::function<bool()> behind) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->consumer_behind = std::move(behind);
}

Client::Reading Client::BeginReading(const void* who, std::function<void()> changed) {
  if (!state_->connection) return {};
  return state_->connection->BeginReading(who, std::move(changed));
}

Client::ReadOutcome Client::ReadOnce(const Reading& reading, size_t max_messages) {
  if (!state_->connection) return ReadOutcome::kStale;
  return state_->connection->ReadOnce(reading, max_messages);
}

void Client::EndReading(const void* who, Reading* reading, bool keep_listening) {
  if (state_->connection) state_->connection->EndReading(who, reading, keep_listening);
}

void Client::ConsumerCaughtUp() {
  if (state_->connection) state_->connection->Wake();
}

void Client::SetPollReady(SubscribeCallback callback) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->poll_ready = callback ? std::make_shared<const SubscribeCallback>(std::move(callback)) : nullptr;
}

}  // namespace crftb::ftb
