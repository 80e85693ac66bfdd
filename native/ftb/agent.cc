#include "ftb/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

#include "common/deadline.h"
#include "common/unique_fd.h"
#include "ftb/agent_attach.h"
#include "ftb/config.h"
#include "ftb/identity.h"
#include "ftb/net.h"
#include "ftb/wire_compact.h"

namespace crftb::ftb {

namespace {

constexpr uint64_t kListenerTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr size_t kMessageSize = sizeof(wire::Message);
constexpr size_t kHandshakeSize = sizeof(wire::Handshake);
// One read takes up to 256 messages into a buffer shared by all connections; a connection keeps
// only its partial frame (at most a handshake) between reads.
constexpr size_t kReadBuffer = kHandshakeSize + 256 * kMessageSize;
// A read from a peer that sends compact frames (wire_compact.h) holds at most 255 messages, as a
// classic read holds 256: what one read can add to a reader's queue (ceiling() below) stays one
// read's worth even when each message grows back to 1336 bytes for a classic reader.
constexpr size_t kCompactReadBytes = 256 * wire::kCompactMinFrame - wire::kCompactMaxFrame;
// Back-pressure bound: a publisher whose events a subscriber's full queue cannot take stops being
// read while that subscriber still drains, but never for longer than this, and not at all for a
// subscriber that wrote nothing for this long (stuck: its copies are dropped instead).
constexpr int64_t kStallMs = 1000;
constexpr int kListenBacklog = 128;  // FTB uses 5; a burst of clients should not see resets
constexpr int kGoodbyeFlushMs = 500;

}  // namespace

struct Agent::Conn {
  ConnId id = 0;
  int fd = -1;
  bool open = false;     // handshake done
  bool compact = false;  // it offered compact frames and we took the offer: both ways from now
  bool closing = false;  // close once `out` is written
  bool polling_out = false;
  int64_t accepted_ms = 0;
  size_t limit = 0;
  std::vector<uint8_t> in;  // a partial frame left by the last read
  int64_t drained_ms = 0;   // last time its queue was empty or the socket took bytes
  bool overflowed = false;  // past its hard bound: closed once the current message is routed
  bool evicted = false;     // overflowed to keep the agent's total within max_queued_bytes
  bool paused = false;      // not read: it feeds a full queue (back-pressure)
  ConnId paused_for = 0;    // that queue's connection
  int64_t paused_ms = 0;
  std::vector<uint8_t> out;
  size_t out_head = 0;
  std::string parent_name;  // set on the connection to our parent
  int parent_port = 0;

  size_t pending() const { return out.size() - out_head; }
  // Everything queued counts, control messages included. A reader that still drains may pass
  // `limit` by what publishers send before they are paused (at most one read each); past this
  // it is not reading, and the agent stops holding bytes for it.
  size_t ceiling() const { return 2 * limit + kReadBuffer; }
};

namespace {

constexpr size_t kDefaultMaxConnections = 1024;
constexpr int kListenerRetryMs = 100;  // accept failing for another reason than descriptors

// The default cap keeps descriptors for the process around the agent (Node, its clients):
// connections past the cap are refused before accept would fail with EMFILE.
size_t DefaultMaxConnections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return kDefaultMaxConnections;
  const size_t reserve = 64;
  const size_t usable = limit.rlim_cur > 2 * reserve ? limit.rlim_cur - reserve : limit.rlim_cur / 2;
  return std::max<size_t>(1, std::min(kDefaultMaxConnections, usable));
}

}  // namespace

namespace {

// The address peers and the bootstrap server are given must be one this agent listens on, or
// agents sent to it never attach (and the tree splits). §2.4's rule (the first non-loopback
// address) is FTB's, which listens on every address: it applies only to an agent that does too.
// An agent bound to one address advertises that address, and may not be told another.
Failure ChooseAdvertised(const AgentOptions& options, const in_addr& listening, std::string* out) {
  char text[INET_ADDRSTRLEN];
  const std::string bound = inet_ntop(AF_INET, &listening, text, sizeof text);
  const bool everywhere = listening.s_addr == htonl(INADDR_ANY);
  if (options.advertise.empty()) {
    *out = everywhere ? ProcessAddress() : bound;
    return Failure::None();
  }
  in_addr advertised{};
  if (options.advertise == "localhost") {
    advertised.s_addr = htonl(INADDR_LOOPBACK);
  } else if (inet_pton(AF_INET, options.advertise.c_str(), &advertised) != 1) {
    return Failure::System(EINVAL, "advertise address '" + options.advertise + "' is not a dotted-quad IPv4 address");
  }
  if (!everywhere && advertised.s_addr != listening.s_addr) {
    return Failure::System(EINVAL, "advertise address '" + options.advertise + "' is not where this agent listens (" +
                                       bound + "); peers sent there could not attach. Listen on it, or on 0.0.0.0");
  }
  *out = inet_ntop(AF_INET, &advertised, text, sizeof text);
  return Failure::None();
}

}  // namespace

std::unique_ptr<Agent> Agent::Start(const AgentOptions& options, Listener listener, Failure* failure) {
  std::unique_ptr<Agent> agent(new Agent(options, std::move(listener)));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (Failure bad = ParseListenAddress("agent", options.host, options.port, &address.sin_addr); !bad.ok()) {
    *failure = bad;
    return nullptr;
  }
  if (options.bootstrap_host) {
    in_addr ignored;
    if (!ParseFtbAddress(*options.bootstrap_host, &ignored)) {
      *failure = Failure::System(
          EINVAL, "bootstrap server '" + *options.bootstrap_host + "' is not an IPv4 address or 'localhost'");
      return nullptr;
    }
  }
  UniqueFd listening;
  if (Failure failed = net::ListenTcp(address.sin_addr, options.port, kListenBacklog, &listening); !failed.ok()) {
    failed.message += " (another agent there? choose another port)";
    *failure = failed;
    return nullptr;
  }
  agent->listen_fd_ = listening.release();
  agent->port_ = net::LocalPort(agent->listen_fd_);

  // Each call checked at once, so the failure names the one that failed; the destructor closes
  // those that succeeded.
  const char* failed_call = nullptr;
  const char* failed_file = "";
  if ((agent->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC)) < 0) {
    failed_call = "epoll_create1";
  } else if ((agent->wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
    failed_call = "eventfd";
  } else if ((agent->spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
    failed_call = "open";
    failed_file = "/dev/null";
  }
  if (failed_call) {
    *failure = Failure::FromErrno(errno, "cannot create the agent's event loop").At(failed_call, failed_file);
    return nullptr;
  }
  agent->max_connections_ = options.max_connections ? options.max_connections : DefaultMaxConnections();
  epoll_event listen_event{EPOLLIN, {.u64 = kListenerTag}};
  epoll_event wake_event{EPOLLIN, {.u64 = kWakeTag}};
  epoll_ctl(agent->epoll_fd_, EPOLL_CTL_ADD, agent->listen_fd_, &listen_event);
  epoll_ctl(agent->epoll_fd_, EPOLL_CTL_ADD, agent->wake_fd_, &wake_event);

  if (Failure bad = ChooseAdvertised(options, address.sin_addr, &agent->advertise_); !bad.ok()) {
    *failure = bad;
    return nullptr;
  }
  agent->location_ = MakeLocation(agent->advertise_, FormatStartTime(time(nullptr)), getpid());
  agent->router_ = std::make_unique<AgentRouter>(MakeFtbId(agent->location_, ManagerClientId(kAgentManagerExt)),
                                                 static_cast<RouterSink*>(agent.get()), options.peer_limits);

  Agent* raw = agent.get();
  agent->thread_ = std::thread([raw] { raw->Run(); });
  if (options.bootstrap_host) {
    agent->attacher_ =
        std::make_unique<AgentAttacher>(raw, AttachConfig{*options.bootstrap_host, options.bootstrap_port,
                                                          agent->advertise_, agent->port_, options.connect_timeout_ms});
  } else {
    raw->BecomeRoot(1);  // standalone: a one-node tree
  }
  return agent;
}

Agent::Agent(const AgentOptions& options, Listener listener)
    : options_(options), listener_(std::move(listener)), read_buf_(kReadBuffer) {}

Agent::~Agent() {
  Stop();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (spare_fd_ >= 0) close(spare_fd_);
}

void Agent::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard<std::mutex> mailbox(mailbox_mutex_);
    stop_requested_ = true;
  }
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();  // says goodbye to neighbour agents, closes connections
  // close() stops listening now, not when the JS wrapper is collected: connects are refused
  // from here on. Only the joined thread used the listener.
  if (listen_fd_ >= 0) {
    close(listen_fd_);
    listen_fd_ = -1;
  }
  if (attacher_) attacher_->Stop();  // DEREG_REQ to the bootstrap server
  std::lock_guard<std::mutex> mailbox(mailbox_mutex_);
  for (const ParentLink& link : mailbox_) close(link.fd);
  mailbox_.clear();
  // The event loop's descriptors go with it too, not when the JS wrapper is collected: an agent
  // closed and started again held three more each time. Only the joined thread used the epoll and
  // the spare; AdoptParent writes the wake fd under this lock and not once stop_requested_ is set.
  for (int* fd : {&epoll_fd_, &wake_fd_, &spare_fd_}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
}

void Agent::Report(const AgentEvent& event) {
  if (listener_) listener_(event);
}

void Agent::AdoptParent(const ParentLink& link) {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  if (stop_requested_) {
    close(link.fd);
    return;
  }
  mailbox_.push_back(link);
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
}

void Agent::BecomeRoot(int level) {
  {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    stats_.attached = true;
    stats_.level = level;
    stats_.parent.clear();
  }
  Report(AgentEvent{"attached", "root of the tree", level, ""});
}

void Agent::Run() {
  epoll_event events[128];
  int64_t next_expiry = NowMs() + 500;
  while (true) {
    const int ready = epoll_wait(epoll_fd_, events, 128, paused_.empty() && listener_off_until_ == 0 ? 250 : 10);
    if (ready < 0 && errno != EINTR) {
      Report(AgentEvent{"error", std::string("event loop failed: ") + strerror(errno), 0, ""});
      break;
    }
    bool stop = false;
    for (int i = 0; i < ready; ++i) {
      const uint64_t tag = events[i].data.u64;
      if (tag == kListenerTag) {
        Accept();
      } else if (tag == kWakeTag) {
        uint64_t value;
        (void)!read(wake_fd_, &value, sizeof value);
        std::lock_guard<std::mutex> lock(mailbox_mutex_);
        stop = stop_requested_;
      } else {
        auto it = conns_.find(tag);
        if (it == conns_.end()) continue;
        Conn& conn = *it->second;
        if (events[i].events & EPOLLOUT) Flush(conn);
        if (!conns_.count(tag)) continue;
        if (conn.paused && (events[i].events & (EPOLLHUP | EPOLLERR))) {
          conn.paused = false;  // read it to its end rather than be woken for it in a loop
          Watch(conn);
        }
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadFrom(conn);
      }
      CloseOverflowed();
    }
    if (stop) break;
    DrainMailbox();
    CloseOverflowed();
    if (listener_off_until_ != 0 && NowMs() >= listener_off_until_) WatchListener(true);
    std::vector<ConnId> dirty;
    dirty.swap(dirty_);
    for (ConnId id : dirty) {
      auto it = conns_.find(id);
      if (it != conns_.end() && !it->second->polling_out) Flush(*it->second);
    }
    if (!paused_.empty()) ResumePaused();
    if (NowMs() >= next_expiry) {
      ExpireHandshakes();
      next_expiry = NowMs() + 500;
    }
    UpdateCounts();
  }
  ShutdownTree();
}

void Agent::Accept() {
  for (int budget = 64; budget > 0; --budget) {
    UniqueFd accepted;
    const Failure failed = net::AcceptTcp(listen_fd_, &accepted, nullptr);
    if (!failed.ok()) {
      // The listener stays readable while the connection waits in the backlog: refuse it rather
      // than be woken for it again and again (100% CPU). Other failures (ENOBUFS, a connection
      // reset before TCP_NODELAY could be set) pause accepting briefly for the same reason.
      if (failed.Is(EMFILE) || failed.Is(ENFILE)) {
        RefuseOne();
      } else {
        WatchListener(false);
      }
      return;
    }
    if (!accepted.valid()) return;  // nothing pending
    if (conns_.size() >= max_connections_) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.connections_refused;
      continue;  // `accepted` closes: the peer sees the connection end before any handshake
    }
    const int fd = accepted.release();
    auto conn = std::make_unique<Conn>();
    conn->id = next_id_++;
    conn->fd = fd;
    conn->accepted_ms = NowMs();
    conn->limit = options_.client_queue_bytes;
    epoll_event event{EPOLLIN, {.u64 = conn->id}};
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
      close(fd);
      continue;
    }
    conns_[conn->id] = std::move(conn);
  }
}

void Agent::RefuseOne() {
  if (spare_fd_ >= 0) {
    close(spare_fd_);
    spare_fd_ = -1;
    UniqueFd refused;
    const bool took = net::AcceptTcp(listen_fd_, &refused, nullptr).ok() && refused.valid();
    refused.reset();
    spare_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (took) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.connections_refused;
      return;
    }
  }
  WatchListener(false);  // another thread took the descriptor: look again a little later
}

void Agent::WatchListener(bool on) {
  epoll_event event{on ? static_cast<uint32_t>(EPOLLIN) : 0u, {.u64 = kListenerTag}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &event);
  listener_off_until_ = on ? 0 : NowMs() + kListenerRetryMs;
}

void Agent::ReadFrom(Conn& conn) {
  const ConnId id = conn.id;
  uint8_t* const buf = read_buf_.data();
  for (int reads = 0; reads < 4 && !conn.paused; ++reads) {
    size_t len = conn.in.size();
    if (len > 0) memcpy(buf, conn.in.data(), len);
    // The handshake is read on its own: what follows it is in the framing it settles.
    const size_t room = !conn.open ? kHandshakeSize - len : conn.compact ? kCompactReadBytes : read_buf_.size() - len;
    const ssize_t got = recv(conn.fd, buf + len, room, 0);
    if (got == 0) {
      CloseConn(id, false);  // EOF; a partial message in the buffer is discarded (§6.3)
      return;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      CloseConn(id, false);
      return;
    }
    const bool drained = static_cast<size_t>(got) < room;  // nothing more now
    len += static_cast<size_t>(got);
    size_t used = 0;
    if (!conn.open) {
      if (!Handshake(conn, buf, len)) {
        CloseConn(id, true);
        return;
      }
      if (!conn.open) {  // need more of the handshake
        conn.in.assign(buf, buf + len);
        continue;
      }
      used = kHandshakeSize;
    }
    reading_ = id;
    pause_for_ = 0;
    wire::Message decoded;
    for (;;) {
      const wire::Message* message;
      size_t frame = 0;
      const auto next = wire::NextMessage(conn.compact, buf + used, len - used, &decoded, &message, &frame);
      if (next == wire::CompactDecode::kNeedMore) break;
      if (next == wire::CompactDecode::kMalformed) {
        reading_ = 0;
        CloseConn(id, true);  // no crftb peer writes it: the stream has lost its framing
        return;
      }
      used += frame;
      if (conn.closing) continue;  // after a manager's CLIENT_DEREG, further input is discarded
      ++messages_received_;
      if (message->msg_type == wire::kNotify) ++events_received_;
      if (!router_->OnMessage(id, *message)) {
        reading_ = 0;
        CloseConn(id, true);  // unknown type: the stream has lost its framing
        return;
      }
    }
    reading_ = 0;
    conn.in.assign(buf + used, buf + len);
    if (pause_for_ != 0) Pause(conn, pause_for_);
    if (drained) return;  // epoll is level-triggered: no second recv just to see EAGAIN
  }
}

bool Agent::Handshake(Conn& conn, const uint8_t* data, size_t len) {
  if (len >= sizeof(uint32_t)) {
    uint32_t system_id;
    memcpy(&system_id, data, sizeof system_id);
    if (system_id != wire::kSystemId) return false;  // FTB closes without a reply
  }
  if (len < kHandshakeSize) return true;
  wire::Handshake handshake;
  memcpy(&handshake, data, kHandshakeSize);
  conn.open = true;
  wire::LocationId answer = location_;
  conn.compact = options_.compact_frames && wire::OffersCompact(handshake.registration) && wire::AcceptCompact(&answer);
  MakeRoom(sizeof answer, conn.id);  // never closes `conn`: nothing is queued for it yet
  Enqueue(conn, &answer, sizeof answer);
  dirty_.push_back(conn.id);
  if (IsAgent(handshake.registration.src.client)) conn.limit = options_.agent_queue_bytes;
  return router_->OnMessage(conn.id, handshake.registration);
}

void Agent::Send(ConnId id, const wire::Message& message, bool droppable) {
  auto it = conns_.find(id);
  if (it == conns_.end() || it->second->closing || it->second->overflowed) return;
  Conn& conn = *it->second;
  uint8_t scratch[wire::kCompactMaxFrame];
  size_t length = 0;
  const void* bytes = wire::FrameFor(conn.compact, message, scratch, &length);
  if (!droppable && conn.pending() + length > conn.ceiling()) {
    Overflow(conn);  // a control message cannot be dropped, and the peer is not reading
    return;
  }
  if (droppable && conn.pending() + length > conn.limit) {
    // A reader that still drains gets the copy and its publisher waits (is not read) until the
    // queue has room; a stuck reader, or one far over its limit (each publisher adds at most
    // one read's worth before it is paused), loses it.
    const bool draining = reading_ != 0 && reading_ != id && conn.pending() + length <= conn.ceiling() &&
                          NowMs() - conn.drained_ms < kStallMs;
    if (!draining) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.events_dropped;
      return;
    }
    pause_for_ = id;
  }
  if (!MakeRoom(length, id)) return;
  if (conn.pending() == 0) {
    dirty_.push_back(id);
    conn.drained_ms = NowMs();
  }
  Enqueue(conn, bytes, length);
}

void Agent::Enqueue(Conn& conn, const void* bytes, size_t length) {
  const auto* from = static_cast<const uint8_t*>(bytes);
  conn.out.insert(conn.out.end(), from, from + length);
  queued_ += length;
}

bool Agent::MakeRoom(size_t bytes, ConnId target) {
  const int64_t now = NowMs();
  while (queued_ + bytes > options_.max_queued_bytes) {
    // A queue that took nothing for kStallMs belongs to a peer that stopped reading; among
    // those, and failing any, among all, the largest goes: it is the peer furthest behind.
    Conn* worst = nullptr;
    bool worst_stalled = false;
    for (const auto& [id, conn] : conns_) {
      if (conn->overflowed || conn->pending() == 0) continue;
      const bool stalled = now - conn->drained_ms >= kStallMs;
      if (worst == nullptr || stalled > worst_stalled ||
          (stalled == worst_stalled && conn->pending() > worst->pending())) {
        worst = conn.get();
        worst_stalled = stalled;
      }
    }
    if (worst == nullptr) return true;  // nothing queued: `bytes` alone are over the bound
    worst->evicted = true;
    Overflow(*worst);
    if (worst->id == target) return false;
  }
  return true;
}

void Agent::Overflow(Conn& conn) {
  conn.overflowed = true;
  overflowed_.push_back(conn.id);
  // Nothing more is written to it: its bytes are let go now, not when it is closed.
  queued_ -= conn.pending();
  std::vector<uint8_t>().swap(conn.out);
  conn.out_head = 0;
}

// Not from inside Send: the router may be iterating its peers while it sends.
void Agent::CloseOverflowed() {
  if (overflowed_.empty()) return;
  std::vector<ConnId> ids;
  ids.swap(overflowed_);
  for (ConnId id : ids) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    const bool evicted = it->second->evicted;
    CloseConn(id, false);
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++(evicted ? stats_.peers_evicted : stats_.peers_over_limit);
  }
}

void Agent::Watch(Conn& conn) {
  epoll_event event{
      (conn.paused ? 0u : static_cast<uint32_t>(EPOLLIN)) | (conn.polling_out ? static_cast<uint32_t>(EPOLLOUT) : 0u),
      {.u64 = conn.id}};
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, conn.fd, &event);
}

void Agent::Pause(Conn& conn, ConnId full) {
  if (conn.paused) return;
  conn.paused = true;
  conn.paused_for = full;
  conn.paused_ms = NowMs();
  Watch(conn);
  paused_.push_back(conn.id);
  std::lock_guard<std::mutex> lock(stats_mutex_);
  ++stats_.backpressure_pauses;
}

void Agent::ResumePaused() {
  const int64_t now = NowMs();
  for (size_t i = 0; i < paused_.size();) {
    auto it = conns_.find(paused_[i]);
    if (it != conns_.end()) {
      Conn& conn = *it->second;
      auto full = conns_.find(conn.paused_for);
      const bool room = full == conns_.end() || full->second->pending() <= full->second->limit / 2;
      if (!room && now - conn.paused_ms < kStallMs) {
        ++i;
        continue;
      }
      conn.paused = false;
      Watch(conn);
    }
    paused_[i] = paused_.back();
    paused_.pop_back();
  }
}

void Agent::CloseAfterFlush(ConnId id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  it->second->closing = true;
  dirty_.push_back(id);
}

void Agent::Flush(Conn& conn) {
  while (conn.pending() > 0) {
    const ssize_t sent = send(conn.fd, conn.out.data() + conn.out_head, conn.pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      conn.out_head += static_cast<size_t>(sent);
      queued_ -= static_cast<size_t>(sent);
      conn.drained_ms = NowMs();
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!conn.polling_out) {
        conn.polling_out = true;
        Watch(conn);
      }
      // Keep the queue compact so a slow reader costs at most its limit in memory.
      if (conn.out_head > (1u << 20)) {
        conn.out.erase(conn.out.begin(), conn.out.begin() + static_cast<long>(conn.out_head));
        conn.out_head = 0;
      }
      return;
    }
    CloseConn(conn.id, false);  // the peer is gone
    return;
  }
  conn.out.clear();
  conn.out_head = 0;
  if (conn.polling_out) {
    conn.polling_out = false;
    Watch(conn);
  }
  if (conn.closing) CloseConn(conn.id, false);
}

void Agent::CloseConn(ConnId id, bool rejected) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  std::unique_ptr<Conn> conn = std::move(it->second);
  conns_.erase(it);
  queued_ -= conn->pending();
  const bool was_parent = router_->IsParentConn(id);
  router_->OnConnectionLost(id);
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn->fd, nullptr);
  close(conn->fd);
  if (rejected) {
    std::lock_guard<std::mutex> lock(stats_mutex_);
    ++stats_.peers_rejected;
  }
  if (was_parent) {
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      stats_.attached = false;
      stats_.parent.clear();
    }
    Report(AgentEvent{
        "parent-lost",
        "lost the parent agent " + conn->parent_name + ":" + std::to_string(conn->parent_port) + "; re-attaching", 0,
        conn->parent_name + ":" + std::to_string(conn->parent_port)});
    if (attacher_) attacher_->ParentLost(conn->parent_name, conn->parent_port);
  }
}

void Agent::ExpireHandshakes() {
  const int64_t now = NowMs();
  std::vector<ConnId> expired;
  for (const auto& [id, conn] : conns_) {
    if (!conn->open && now - conn->accepted_ms > options_.handshake_timeout_ms) expired.push_back(id);
  }
  for (ConnId id : expired) CloseConn(id, true);
}

void Agent::DrainMailbox() {
  std::vector<ParentLink> links;
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    links.swap(mailbox_);
  }
  for (const ParentLink& link : links) {
    const int flags = fcntl(link.fd, F_GETFL);
    fcntl(link.fd, F_SETFL, flags | O_NONBLOCK);
    auto conn = std::make_unique<Conn>();
    conn->id = next_id_++;
    conn->fd = link.fd;
    conn->open = true;
    conn->limit = options_.agent_queue_bytes;
    conn->parent_name = link.name;
    conn->parent_port = link.port;
    epoll_event event{EPOLLIN, {.u64 = conn->id}};
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, link.fd, &event) != 0) {
      close(link.fd);
      if (attacher_) attacher_->ParentLost(link.name, link.port);
      continue;
    }
    const ConnId id = conn->id;
    conns_[id] = std::move(conn);
    router_->AddParent(id, link.location);
    const std::string parent = link.name + ":" + std::to_string(link.port);
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      stats_.attached = true;
      stats_.level = link.level;
      stats_.parent = parent;
    }
    Report(AgentEvent{"attached", "child of " + parent, link.level, parent});
  }
}

void Agent::ShutdownTree() {
  router_->SayGoodbye();
  for (ConnId id : dirty_) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->closing = true;
  }
  const int64_t deadline = NowMs() + kGoodbyeFlushMs;
  while (NowMs() < deadline) {
    bool pending = false;
    for (auto& [id, conn] : conns_) {
      if (conn->pending() == 0) continue;
      const ssize_t sent =
          send(conn->fd, conn->out.data() + conn->out_head, conn->pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (sent > 0) conn->out_head += static_cast<size_t>(sent);
      if (sent < 0 && errno != EAGAIN && errno != EINTR) conn->out_head = conn->out.size();
      pending = pending || conn->pending() > 0;
    }
    if (!pending) break;
    epoll_event events[16];
    epoll_wait(epoll_fd_, events, 16, 10);
  }
  for (auto& [id, conn] : conns_) close(conn->fd);
  conns_.clear();
}

void Agent::UpdateCounts() {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.connections = conns_.size();
  stats_.clients = router_->clients();
  stats_.agents = router_->agents();
  stats_.subscriptions = router_->subscriptions();
  stats_.events_routed = router_->routed();
  stats_.subscriptions_refused = router_->refused();
  stats_.clients_refused = router_->ids_refused();
  stats_.masks_examined = router_->examined();
  stats_.queued_bytes = queued_;
  stats_.messages_received = messages_received_;
  stats_.events_received = events_received_;
}

AgentStats Agent::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  AgentStats out = stats_;
  if (attacher_) out.reattachments = attacher_->reattachments();
  return out;
}

}  // namespace crftb::ftb
