// crftb's libftb: an FTB 0.6.2 client (PROTOCOL.md §7, §10–§12) usable from C++ on any thread,
// with no JavaScript involved. The JS binding (client_binding.cc) and the checkpoint code both
// sit on top of this API.
//
// Model
// - One TCP connection per process, shared by every Client (as in FTB). The first Connect opens
//   it (options of later Connects are ignored except their client info); the last Disconnect
//   sends the manager CLIENT_DEREG and closes it. A process-wide I/O thread owns the socket: it
//   reads every message as soon as it arrives (so this process never stalls the agent) unless
//   another thread reads instead (BeginReading: the JS binding's event loop), flushes
//   queued output, and reconnects with back-off when the agent goes away, re-sending CLIENT_REG
//   and every subscription so callbacks keep firing. No thread and no fd outlives the last
//   Disconnect. Sockets are SOCK_CLOEXEC from birth.
// - Publish never blocks: it encodes the NOTIFY and sends it with a non-blocking write; what the
//   kernel does not take at once goes to a bounded per-connection backlog the I/O thread
//   flushes. A full backlog (the agent is not reading) is an error, not a wait.
// - Callbacks (SubscribeCallback) run on the thread that reads (the I/O thread, or a
//   BeginReading reader's): they must return quickly and never block (the JS binding queues the
//   event in a bounded batch, js_client_batch.h).
// - Polling subscriptions read from the client's bounded polling queue (drop-oldest, FTB's
//   policy; every drop is counted in Stats::poll_dropped).
//
// Thread-safety: every method of Client may be called from any thread, concurrently. A
// Client is owned through std::shared_ptr; callbacks registered on it never run after
// Disconnect() has returned. Failures carry FTB's code names (codes.h) or errno names.
#pragma once

#include <stdint.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/failure.h"
#include "ftb/config.h"
#include "ftb/subscription.h"
#include "ftb/wire.h"

namespace crftb::ftb {

// FTB_client_t (§4.9, §10.2).
struct ClientInfo {
  std::string event_space;                                   // REGION.CATEGORY.COMPONENT
  std::string client_name;                                   // ≤ 15 characters, may be empty
  std::string jobid;                                         // ≤ 15 characters, may be empty
  std::string subscription_style = "FTB_SUBSCRIPTION_NONE";  // _NONE/_POLLING/_NOTIFY/_BOTH
  int polling_queue_len = 0;                                 // ≤ 0 → 64, FTB's default
};

struct ConnectOptions {
  // Explicit agent address; wins over FTB_AGENT_PORT/FTB_CONFIG_FILE. Host: `localhost` or a
  // dotted quad. Without it: 127.0.0.1:<agent port>, then the agent the bootstrap server names.
  std::optional<std::string> agent_host;
  std::optional<int> agent_port;
  ConfigOverrides config;
  int connect_timeout_ms = 5000;  // whole first connect, bootstrap fallback included
  bool reconnect = true;          // after losing the agent
  int reconnect_initial_ms = 20;  // back-off: doubles up to reconnect_max_ms
  int reconnect_max_ms = 2000;
  size_t send_backlog_bytes = 4 << 20;  // output the agent has not taken yet
  std::string host_address;             // overrides the process address (§2.4) if non-empty
  size_t max_subscriptions =
      kDefaultMaxSubscriptionsPerClient;  // per client; Subscribe past it fails (FTB_ERR_GENERAL)
  // Offer crftb's compact frames in the handshake (wire_compact.h); used when the agent is crftb's
  // and takes the offer. A real FTB agent ignores the offer.
  bool compact_frames = true;
};

struct EventDeclaration {
  std::string name;
  std::string severity;
};

// FTB_receive_event_t (§4.9, §12.1) plus the event's own hostname field.
struct ReceivedEvent {
  wire::Event event;         // the 708-byte record as received
  wire::LocationId source;   // incoming_src: the publisher's process
  uint8_t client_extension;  // src.client_id.ext
  uint64_t subscription_id;  // the subscription that took it (0 for the polling queue)
};

struct ClientStats {
  uint64_t published = 0;
  uint64_t received = 0;            // NOTIFYs addressed to this client
  uint64_t callback_delivered = 0;  // handed to a callback
  uint64_t callback_dropped = 0;    // a callback refused it (its consumer's queue was full)
  uint64_t poll_queued = 0;
  uint64_t poll_dropped = 0;  // oldest events pushed out of a full polling queue
  uint64_t discarded = 0;     // no callback matched and the client cannot poll
  size_t poll_queue_length = 0;
  size_t poll_queue_capacity = 0;
};

struct ConnectionStats {
  bool connected = false;
  int fd = -1;              // the agent socket (for tests of close-on-exec), -1 when none
  std::string agent;        // "a.b.c.d:port"
  uint64_t reconnects = 0;  // successful re-connections after a loss
  uint64_t losses = 0;
  size_t backlog_bytes = 0;
  bool read_elsewhere = false;  // a BeginReading reader (a JS thread) reads instead of the I/O thread
  bool compact_frames = false;  // the agent took the offer of compact frames (wire_compact.h)
  // Received messages that were dropped: not a NOTIFY (a client takes nothing else, §5.1), or a
  // NOTIFY whose dst names no client of this process. Counted so a hostile or confused agent
  // shows up somewhere instead of vanishing.
  uint64_t ignored = 0;
  uint64_t unaddressed = 0;
};

// Runs on the reading thread (see Callbacks above); must not block. Returning false marks the
// event as not accepted (e.g. the consumer's queue was full) and counts it as dropped.
using SubscribeCallback = std::function<bool(const ReceivedEvent&)>;

class Client {
 public:
  // FTB_Connect: validates (style → event space → name → jobid, FTB's order), opens or shares
  // the process connection, sends CLIENT_REG. Bounded by options.connect_timeout_ms; with no
  // agent anywhere it fails with FTB_ERR_NETWORK_NO_ROUTE (and ECONN* details in the message).
  static Failure Connect(const ClientInfo& info, const ConnectOptions& options, std::shared_ptr<Client>* out);

  // FTB_Declare_publishable_events (local only). FTB's quirks kept: a name already declared
  // ends the list successfully; the 101st declaration is FTB_ERR_GENERAL.
  Failure Declare(const std::vector<EventDeclaration>& events);
  Failure DeclareSchemaFile(const std::string& path);

  // FTB_Publish. payload_len ≤ 368 (the rest is zero-filled); event_type 1 or 2. `handle` (may
  // be null) receives the event handle even when sending failed, as FTB does. `caller_flushes`:
  // see Connection::Send; the caller then owes a FlushPublished() once its run of publishes ends.
  Failure Publish(const std::string& event_name, int event_type, const void* payload, size_t payload_len,
                  wire::EventHandle* handle, bool* caller_flushes = nullptr);

  // Writes what publishes with `caller_flushes` left in the backlog (Connection::FlushForCaller).
  void FlushPublished();

  // FTB_Subscribe. With a callback: NOTIFY-capable clients only; without: POLLING-capable only.
  Failure Subscribe(const std::string& subscription, SubscribeCallback callback, uint64_t* id);
  // FTB_Poll_event on a polling subscription: FTB_GOT_NO_EVENT when nothing matches.
  Failure Poll(uint64_t subscription_id, ReceivedEvent* out);
  // FTB_Unsubscribe: SUBSCRIPTION_CANCEL, then the callback is never called again.
  Failure Unsubscribe(uint64_t subscription_id);
  // FTB_Disconnect: CLIENT_DEREG (and the manager's when last). Local cleanup happens even when
  // sending fails. A second call is FTB_ERR_INVALID_HANDLE.
  Failure Disconnect();

  // Called on the I/O thread (must not block) each time the polling queue receives an event,
  // with subscription_id 0 — lets a consumer wake its pollers instead of spinning.
  void SetPollReady(SubscribeCallback callback);

  // Flow control for a callback consumer on another thread (the JS binding): `behind` is asked
  // on the I/O thread before each read and must not block. While it returns true for any client,
  // the process connection reads nothing more from the agent, which then holds publishers back
  // (for a bounded time; a reader stuck longer loses copies at the agent, counted there).
  // ConsumerCaughtUp() tells the I/O thread to ask again now rather than within 10 ms.
  void SetConsumerBehind(std::function<bool()> behind);
  void ConsumerCaughtUp();

  // Reading the process connection on a thread of the caller's (the JS binding waits on its own
  // event loop while listeners exist: an event then wakes that thread once, not the I/O thread
  // which then wakes it). BeginReading hands out a close-on-exec duplicate of the agent socket
  // to wait on (fd -1: not connected, or another reader holds the connection); while a reader
  // holds it the I/O thread reads nothing and keeps writing, reconnecting and back-pressure.
  // `changed` is called (on any thread, must not block) once the socket is gone or a new one is
  // up; the reader then ends reading and may begin again. ReadOnce reads and delivers (callbacks
  // run on the calling thread) at most max_messages; EndReading closes the duplicate and hands
  // reading back to the I/O thread. A stale or lost socket is never read past its end.
  struct Reading {
    int fd = -1;
    uint64_t generation = 0;
  };
  enum class ReadOutcome { kDrained, kMore, kBehind, kLost, kStale };
  Reading BeginReading(const void* who, std::function<void()> changed);
  ReadOutcome ReadOnce(const Reading& reading, size_t max_messages);
  void EndReading(const void* who, Reading* reading, bool keep_listening);

  ClientStats Stats() const;
  static ConnectionStats ProcessConnection();

  // Around a checkpoint that includes this process (native/cr/request.cc): no FTB socket may be
  // in its image. SuspendProcessConnection flushes what is queued (bounded by flush_ms), closes
  // the agent socket and holds off reconnecting; a Connect that would open a new connection
  // meanwhile waits (within its connect timeout). ResumeProcessConnection reconnects — in the
  // original and in the copy restored from the images alike — bounded by connect_timeout_ms,
  // re-registering every client and subscription (when it fails the I/O thread keeps retrying).
  // Calls nest; only the outermost pair acts. They return whether a socket was closed / opened.
  static bool SuspendProcessConnection(int flush_ms);
  static bool ResumeProcessConnection(int connect_timeout_ms);
  const wire::ClientId& id() const;
  int style() const;

  ~Client();
  struct State;

 private:
  explicit Client(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace crftb::ftb
