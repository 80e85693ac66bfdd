// The FTB agent (ftb_agent's role, PROTOCOL.md §6 and §8): a TCP listener and every connection
// served by one epoll event loop on its own thread, routing with AgentRouter; a second thread
// (AgentAttacher) talks to the bootstrap server and connects to parents, so routing never waits
// for the tree. Writes are non-blocking into bounded per-connection queues. When a reader's queue
// is full but it still drains, the connection the event came from is not read for a while
// (TCP back-pressure on the publisher, bounded in time); a peer that stops reading loses NOTIFY
// copies (counted), and never stalls the agent or anybody else for more than that bound.
#pragma once

#include <stdint.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/failure.h"
#include "ftb/agent_router.h"
#include "ftb/wire.h"

namespace crftb::ftb {

class AgentAttacher;

struct AgentOptions {
  std::string host = "127.0.0.1";  // where to listen; FTB listens on INADDR_ANY
  int port = 0;                    // 0 = an ephemeral port
  std::string advertise;           // our address for peers and the bootstrap server ("" = §2.4 rule)
  // Bootstrap server; none = a standalone root that registers nowhere (FTB would exit).
  std::optional<std::string> bootstrap_host;
  int bootstrap_port = wire::kDefaultBootstrapPort;
  size_t client_queue_bytes = 4u << 20;  // per client connection
  size_t agent_queue_bytes = 16u << 20;  // per neighbour agent connection
  int handshake_timeout_ms = 10000;      // an accepted socket that does not handshake is closed
  int connect_timeout_ms = 3000;         // connecting to a parent
  // Accepted connections served at once; the newest past it is accepted and closed at once.
  // 0 = the default: 1024, or less when the descriptor limit would be reached first.
  size_t max_connections = 0;
  RouterLimits peer_limits;  // masks and identities per client, per connection, agent-wide
  // Bytes queued for all connections together. Each queue is bounded on its own, but every peer
  // that says it is an agent gets agent_queue_bytes: this keeps maxConnections such peers that
  // never read from making the agent hold maxConnections × 16 MiB.
  size_t max_queued_bytes = 256u << 20;
  // Take a client's offer of compact frames (wire_compact.h); a real FTB peer never makes one.
  bool compact_frames = true;
};

struct AgentStats {
  uint64_t connections = 0, clients = 0, agents = 0, subscriptions = 0;
  uint64_t messages_received = 0;  // every message read, any type and framing
  uint64_t events_received = 0, events_routed = 0, events_dropped = 0;
  // times a connection was not read because a reader it feeds had a full queue (back-pressure
  // instead of dropping; bounded to kStallMs each, see agent.cc)
  uint64_t backpressure_pauses = 0;
  uint64_t peers_rejected = 0;  // connections closed for a bad handshake or lost framing
  // connections closed because what was queued for them passed their hard bound (2 × queue
  // limit + one read): a peer that does not read its control messages
  uint64_t peers_over_limit = 0;
  uint64_t connections_refused = 0;    // accepted and closed at once: maxConnections, or no descriptors
  uint64_t subscriptions_refused = 0;  // REG_SUBSCRIPTIONs past a per-client or per-connection cap
  uint64_t clients_refused = 0;        // CLIENT_REGs past the per-connection or agent-wide identity cap
  // connections closed (largest stalled queue first) to keep queued_bytes within max_queued_bytes
  uint64_t peers_evicted = 0;
  uint64_t queued_bytes = 0;    // bytes queued for all connections now
  uint64_t masks_examined = 0;  // masks compared with events (routing work)
  uint64_t reattachments = 0;
  bool attached = false;  // root registered, or connected to a parent
  int level = 0;          // 0 until attached
  std::string parent;     // "host:port" or "" (root / standalone / detached)
};

// Reported from the agent's threads; the binding forwards them to JavaScript.
struct AgentEvent {
  std::string kind;    // "attached", "parent-lost", "bootstrap-unreachable", "error"
  std::string detail;  // human text
  int level = 0;
  std::string parent;  // for "attached": "" when root
};

class Agent : private RouterSink {
 public:
  using Listener = std::function<void(const AgentEvent&)>;

  static std::unique_ptr<Agent> Start(const AgentOptions& options, Listener listener, Failure* failure);
  ~Agent() override;

  // Shutdown (§8.5): CLIENT_DEREG to neighbouring agents, DEREG_REQ to the bootstrap server, all
  // bounded to about a second; then every socket is closed. Idempotent; blocks until done.
  void Stop();
  const std::string& host() const { return options_.host; }
  int port() const { return port_; }
  const std::string& advertise() const { return advertise_; }
  AgentStats stats() const;

  // Called by the attacher thread.
  struct ParentLink {
    int fd;
    wire::LocationId location;
    std::string name;
    int port;
    int level;  // our level under this parent
  };
  void AdoptParent(const ParentLink& link);
  void BecomeRoot(int level);
  void Report(const AgentEvent& event);
  const wire::LocationId& location() const { return location_; }

 private:
  struct Conn;

  Agent(const AgentOptions& options, Listener listener);
  void Run();
  void Accept();
  void ReadFrom(Conn& conn);
  bool Handshake(Conn& conn, const uint8_t* data, size_t len);
  // Back-pressure: stop reading `conn` (it feeds `full`, whose queue is full) / read again
  // whatever has room or waited kStallMs; Watch sets the epoll interest from the state.
  void Pause(Conn& conn, ConnId full);
  void ResumePaused();
  void Watch(Conn& conn);
  void Flush(Conn& conn);
  void CloseConn(ConnId id, bool rejected);
  // Send found `conn` past its hard bound: it is closed after the message being routed, and
  // what was queued for it is let go at once.
  void Overflow(Conn& conn);
  // Room for `bytes` more within max_queued_bytes: closes the connections holding the most,
  // those that stopped reading first. False when `target` itself had to go.
  bool MakeRoom(size_t bytes, ConnId target);
  void Enqueue(Conn& conn, const void* bytes, size_t length);
  void CloseOverflowed();
  // No descriptor for an accepted connection: refuse the newest (spare descriptor trick) or,
  // failing that, stop watching the listener for a while instead of spinning on it.
  void RefuseOne();
  void WatchListener(bool on);
  void ExpireHandshakes();
  void DrainMailbox();
  void ShutdownTree();
  void UpdateCounts();

  // RouterSink
  void Send(ConnId conn, const wire::Message& message, bool droppable) override;
  void CloseAfterFlush(ConnId conn) override;

  AgentOptions options_;
  Listener listener_;
  std::string advertise_;
  wire::LocationId location_;
  int port_ = 0;
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int spare_fd_ = -1;  // released to accept-and-close a connection when out of descriptors
  size_t max_connections_ = 0;
  int64_t listener_off_until_ = 0;  // listener unwatched until then (accept kept failing)
  std::vector<ConnId> overflowed_;
  std::unique_ptr<AgentRouter> router_;
  std::unordered_map<ConnId, std::unique_ptr<Conn>> conns_;
  std::vector<ConnId> dirty_;   // connections with bytes to flush at the end of this round
  std::vector<ConnId> paused_;  // connections not read for back-pressure
  std::vector<uint8_t> read_buf_;
  size_t queued_ = 0;                                     // Σ pending() over conns_
  ConnId reading_ = 0;                                    // the connection whose messages are being routed
  ConnId pause_for_ = 0;                                  // set by Send: reading_ fed this full queue
  uint64_t messages_received_ = 0, events_received_ = 0;  // loop thread only; published by UpdateCounts
  ConnId next_id_ = 16;                                   // small ids tag the listener and the wake-up fd in epoll
  std::thread thread_;
  std::unique_ptr<AgentAttacher> attacher_;

  std::mutex mailbox_mutex_;  // attacher → loop
  std::vector<ParentLink> mailbox_;
  bool stop_requested_ = false;

  std::mutex stop_mutex_;
  bool stopped_ = false;

  mutable std::mutex stats_mutex_;
  AgentStats stats_;
};

}  // namespace crftb::ftb
