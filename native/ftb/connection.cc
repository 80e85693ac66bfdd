#include "ftb/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "common/deadline.h"
#include "ftb/codes.h"
#include "ftb/config.h"
#include "ftb/identity.h"
#include "ftb/net.h"
#include "ftb/wire_compact.h"

namespace crftb::ftb {
namespace {

constexpr size_t kMessageSize = sizeof(wire::Message);
constexpr size_t kInboxMessages = 256;
// Compact frames (wire_compact.h) are read with a byte budget that cannot hold more whole frames
// than the reader has room for; this many per read keeps that budget near a classic read's.
constexpr size_t kInboxCompactMessages = 1024;
constexpr int kStopFlushMs = 2000;
constexpr int64_t kBurstWindowNs = 20000;
// A backlog a caller that flushes for itself writes at once rather than at the end of its run of
// sends (bounds the memory and the first message's wait in a long synchronous loop).
constexpr size_t kCallerWriteBytes = 64 * 1024;

std::string Endpoint(const in_addr& address, int port) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(port);
}

// §6.2: system id, own location, CLIENT_REG of the process manager (ext 1); the agent answers
// with its 100-byte location. With `offer_compact` the registration offers compact frames.
Failure Handshake(int fd, const wire::LocationId& me, int64_t deadline, bool offer_compact, wire::LocationId* agent) {
  wire::Handshake hello;
  memset(&hello, 0, sizeof(hello));
  hello.system_id = wire::kSystemId;
  hello.location = me;
  hello.registration.msg_type = wire::kClientReg;
  hello.registration.src = MakeFtbId(me, ManagerClientId(kClientProcessManagerExt));
  if (offer_compact) wire::OfferCompact(&hello.registration);
  Failure failed = net::WriteFull(fd, &hello, sizeof(hello), deadline);
  if (failed.ok()) failed = net::ReadFull(fd, agent, sizeof(*agent), deadline);
  if (!failed.ok()) {
    return CodeFailure(kErrGeneral,
                       "FTB agent accepted the connection but the handshake failed (" + failed.message + ")");
  }
  return Failure::None();
}

Failure ConnectAndHandshake(const in_addr& address, int port, const wire::LocationId& me, int64_t deadline,
                            bool offer_compact, UniqueFd* fd, wire::LocationId* agent) {
  UniqueFd socket;
  Failure failed = net::ConnectTcp(address, port, RemainingMs(deadline), &socket);
  if (!failed.ok()) return failed;
  failed = Handshake(socket.get(), me, deadline, offer_compact, agent);
  if (!failed.ok()) return failed;
  *fd = std::move(socket);
  return Failure::None();
}

// FTB's bootstrap schedule, cut to what is left of the caller's deadline.
std::vector<int> BootstrapTimeoutsWithin(int64_t deadline) {
  std::vector<int> out;
  int left = RemainingMs(deadline);
  for (int t : net::FtbBootstrapTimeouts()) {
    if (left <= 0) break;
    out.push_back(std::min(t, left));
    left -= out.back();
  }
  return out;
}

}  // namespace

std::string RequestedAgent(const ConnectOptions& options) {
  if (!options.agent_host && !options.agent_port) return "";
  in_addr address;
  address.s_addr = htonl(INADDR_LOOPBACK);
  if (options.agent_host && !ParseFtbAddress(*options.agent_host, &address)) return *options.agent_host;
  return Endpoint(address, options.agent_port.value_or(ResolveConfig(options.config).agent_port));
}

Failure OpenAgentConnection(const ConnectOptions& options, const wire::LocationId& me, int64_t deadline, UniqueFd* fd,
                            wire::LocationId* agent, std::string* where) {
  const Config config = ResolveConfig(options.config);
  const int port = options.agent_port.value_or(config.agent_port);
  in_addr address;
  if (options.agent_host) {
    if (!ParseFtbAddress(*options.agent_host, &address)) {
      return CodeFailure(kErrInvalidValue,
                         "agent host '" + *options.agent_host + "' is neither 'localhost' nor an IPv4 address");
    }
    *where = Endpoint(address, port);
    Failure failed = ConnectAndHandshake(address, port, me, deadline, options.compact_frames, fd, agent);
    if (failed.ok() || failed.Is(kErrGeneral)) return failed;
    return CodeFailure(kErrNetworkNoRoute, "no FTB agent at " + *where + ": " + failed.message).CausedBy(failed);
  }
  address.s_addr = htonl(INADDR_LOOPBACK);
  *where = Endpoint(address, port);
  Failure local = ConnectAndHandshake(address, port, me, deadline, options.compact_frames, fd, agent);
  if (local.ok() || local.Is(kErrGeneral)) return local;
  std::string tried = "local agent " + *where + ": " + local.message;
  if (!config.has_bootstrap_server) {
    return CodeFailure(kErrNetworkNoRoute, "no FTB agent reachable (" + tried +
                                               "); no bootstrap server configured (FTB_BSTRAP_SERVER) to ask for one")
        .CausedBy(local);
  }
  in_addr server;
  if (!ParseFtbAddress(config.bootstrap_server, &server)) {
    return CodeFailure(kErrNetworkNoRoute, "no FTB agent reachable (" + tried + "); bootstrap server '" +
                                               config.bootstrap_server +
                                               "' is neither 'localhost' nor an IPv4 address");
  }
  // §9.5: ADDR_REQ with the process address and FTB_AGENT_PORT, level 65535.
  wire::BootstrapPacket request;
  memset(&request, 0, sizeof(request));
  request.type = wire::kAddrReq;
  request.addr.name = me.hostname;
  request.addr.port = config.agent_port;
  request.level = 65535;
  wire::BootstrapPacket reply;
  const std::string bootstrap = Endpoint(server, config.bootstrap_port);
  Failure asked =
      net::BootstrapExchange(server, config.bootstrap_port, request, &reply, BootstrapTimeoutsWithin(deadline));
  if (!asked.ok()) {
    return CodeFailure(kErrNetworkNoRoute,
                       "no FTB agent reachable (" + tried + "); bootstrap server " + bootstrap + ": " + asked.message)
        .CausedBy(asked);
  }
  if (reply.type != wire::kAddrRep || reply.parent_addr.port == 0) {
    return CodeFailure(kErrNetworkNoRoute,
                       "no FTB agent reachable (" + tried + "); bootstrap server " + bootstrap + " knows no agent");
  }
  in_addr named;
  if (!ParseFtbAddress(reply.parent_addr.name.get(), &named)) {
    return CodeFailure(kErrNetworkNoRoute, "bootstrap server " + bootstrap + " named an unusable agent address '" +
                                               reply.parent_addr.name.get() + "'");
  }
  *where = Endpoint(named, reply.parent_addr.port);
  Failure failed = ConnectAndHandshake(named, reply.parent_addr.port, me, deadline, options.compact_frames, fd, agent);
  if (failed.ok() || failed.Is(kErrGeneral)) return failed;
  // Tell the server, as FTB does (CONN_FAIL carries the failed address in addr).
  wire::BootstrapPacket conn_fail;
  memset(&conn_fail, 0, sizeof(conn_fail));
  conn_fail.type = wire::kConnFail;
  conn_fail.addr = reply.parent_addr;
  net::BootstrapExchange(server, config.bootstrap_port, conn_fail, nullptr, {});
  return CodeFailure(kErrNetworkNoRoute, "no FTB agent reachable (" + tried + "; agent " + *where +
                                             " named by the bootstrap server: " + failed.message + ")")
      .CausedBy(failed);
}

Connection::Connection(const ConnectOptions& options, const wire::LocationId& me, UniqueFd fd,
                       const wire::LocationId& agent, const std::string& where)
    : options_(options),
      me_(me),
      fd_(std::move(fd)),
      agent_(agent),
      compact_(options.compact_frames && wire::AcceptsCompact(agent)),
      where_(where),
      wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      inbox_(kInboxMessages * kMessageSize) {
  manager_ = MakeFtbId(me_, ManagerClientId(kClientProcessManagerExt));
  thread_ = std::thread([this] { Run(); });
}

Connection::~Connection() {
  if (thread_.joinable()) Stop();
}

void Connection::Wake() {
  uint64_t one = 1;
  if (wake_.valid()) (void)!write(wake_.get(), &one, sizeof(one));
}

void Connection::Add(std::shared_ptr<ConnectionClient> client) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_.push_back(std::move(client));
}

void Connection::Remove(const ConnectionClient* client) {
  std::lock_guard<std::mutex> lock(mu_);
  clients_.erase(
      std::remove_if(clients_.begin(), clients_.end(), [client](const auto& c) { return c.get() == client; }),
      clients_.end());
}

size_t Connection::ClientCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return clients_.size();
}

std::shared_ptr<ConnectionClient> Connection::Find(const wire::ClientId& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : clients_) {
    if (SameClientInProcess(c->client_id(), id)) return c;
  }
  return nullptr;
}

Failure Connection::Send(wire::Message* message, bool* caller_flushes) {
  std::lock_guard<std::mutex> lock(mu_);
  return SendLocked(message, caller_flushes);
}

void Connection::FlushForCaller() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_.valid() && output_idle_ && !pending_.empty()) WriteForCallerLocked();
}

// Only while the I/O thread is idle (so nothing of the backlog is being written: flushing_ is
// empty): a non-blocking write under the lock. A full socket hands the rest to the I/O thread,
// which waits for room.
void Connection::WriteForCallerLocked() {
  size_t sent = 0;
  Failure failed = net::SendSome(fd_.get(), pending_.data(), pending_.size(), &sent);
  if (!failed.ok()) {
    LoseLocked(failed.message);
    return;
  }
  pending_.erase(0, sent);
  if (pending_.empty()) {
    changed_.notify_all();
  } else {
    output_idle_ = false;
    Wake();
  }
}

Failure Connection::SendLocked(wire::Message* message, bool* caller_flushes) {
  if (!fd_.valid()) {
    return CodeFailure(kErrNetworkNoRoute, "not connected to an FTB agent (reconnecting to " + where_ + ")");
  }
  message->dst.location = agent_;
  uint8_t scratch[wire::kCompactMaxFrame];
  size_t length = 0;
  const char* bytes = static_cast<const char*>(wire::FrameFor(compact_, *message, scratch, &length));
  if (QueuedLocked() + length > options_.send_backlog_bytes) {
    return CodeFailure(kErrNetworkGeneral, "the FTB agent at " + where_ +
                                               " is not reading: " + std::to_string(QueuedLocked()) +
                                               " bytes are waiting to be sent; message not sent");
  }
  size_t sent = 0;
  // A message right after another (a burst) joins the backlog, which the I/O thread writes in
  // large chunks: one syscall for many messages. An isolated message goes out at once.
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t now_ns = static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  const bool burst = now_ns - last_send_ns_ < kBurstWindowNs;
  last_send_ns_ = now_ns;
  if (QueuedLocked() == 0 && !burst) {
    Failure failed = net::SendSome(fd_.get(), bytes, length, &sent);
    if (!failed.ok()) {
      LoseLocked(failed.message);
      return CodeFailure(kErrNetworkGeneral, "sending to the FTB agent at " + where_ + " failed: " + failed.message);
    }
    if (sent == length) return Failure::None();
  }
  pending_.append(bytes + sent, length - sent);
  if (output_idle_ && caller_flushes != nullptr) {
    if (pending_.size() >= kCallerWriteBytes) {
      WriteForCallerLocked();
    } else {
      *caller_flushes = true;
    }
    return Failure::None();
  }
  if (output_idle_) {  // the I/O thread picks it up
    output_idle_ = false;
    Wake();
  }
  return Failure::None();
}

void Connection::LoseLocked(const std::string& why) {
  if (!fd_.valid()) return;
  // The I/O thread may be polling this fd: shut it down so it sees the loss, and let that thread
  // (which owns reads) close it.
  shutdown(fd_.get(), SHUT_RDWR);
  Wake();
}

void Connection::DropQueuedLocked() {
  pending_.clear();
  flushing_left_ = 0;  // flushing_ itself belongs to the I/O thread, which resets it
}

// I/O thread only: writes as much queued output as the socket takes, without holding the lock
// during the write (senders keep appending to pending_ meanwhile).
void Connection::Flush() {
  int fd;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!fd_.valid()) return;
    fd = fd_.get();
    if (flushing_left_ == 0) {
      flushing_.clear();
      flushing_done_ = 0;
      flushing_.swap(pending_);
      flushing_left_ = flushing_.size();
    }
    if (flushing_left_ == 0) return;
  }
  size_t sent = 0;
  Failure failed = net::SendSome(fd, flushing_.data() + flushing_done_, flushing_.size() - flushing_done_, &sent);
  std::lock_guard<std::mutex> lock(mu_);
  flushing_done_ += sent;
  if (flushing_left_ != 0) flushing_left_ = flushing_.size() - flushing_done_;
  if (QueuedLocked() == 0) changed_.notify_all();
  if (!failed.ok()) LoseLocked(failed.message);
}

void Connection::ReRegisterLocked() {
  for (const auto& client : clients_) {
    wire::Message reg;
    memset(&reg, 0, sizeof(reg));
    reg.msg_type = wire::kClientReg;
    reg.src = MakeFtbId(me_, client->client_id());
    SendLocked(&reg);
    for (const wire::Event& mask : client->SubscriptionMasks()) {
      wire::Message sub;
      memset(&sub, 0, sizeof(sub));
      sub.msg_type = wire::kRegSubscription;
      sub.src = reg.src;
      sub.event = mask;
      SendLocked(&sub);
    }
  }
}

bool Connection::Reconnect(int* delay_ms, bool resuming, int timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || (suspended_ && !resuming)) return false;
    connecting_ = true;
  }
  UniqueFd fd;
  wire::LocationId agent;
  std::string where;
  Failure failed = OpenAgentConnection(options_, me_, DeadlineAfter(timeout_ms), &fd, &agent, &where);
  std::lock_guard<std::mutex> lock(mu_);
  connecting_ = false;
  changed_.notify_all();
  // A checkpoint that began while this thread was connecting must not find the new socket.
  if (!failed.ok() || stopping_ || (suspended_ && !resuming) || fd_.valid()) return false;
  fd_ = std::move(fd);
  agent_ = agent;
  compact_ = options_.compact_frames && wire::AcceptsCompact(agent);
  where_ = where;
  DropQueuedLocked();
  flushing_.clear();
  flushing_done_ = 0;
  NewSocketLocked();
  ++reconnects_;
  *delay_ms = options_.reconnect_initial_ms;
  ReRegisterLocked();
  return true;
}

bool Connection::AnyConsumerBehind() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& c : clients_) {
    if (c->ConsumerBehind()) return true;
  }
  return false;
}

// The bytes to read next so that the inbox cannot end up holding more than `max_messages` whole
// frames: classic frames have one size; compact ones at least kCompactMinFrame, and the partial
// frame at the head of the inbox says its own length once two bytes of it are here. 0: the
// stream is malformed.
size_t Connection::ReadBudget(bool compact, size_t max_messages) const {
  if (!compact) {
    const size_t want = std::min(inbox_.size(), max_messages * kMessageSize);
    return want > inbox_used_ ? want - inbox_used_ : kMessageSize;
  }
  size_t head_left = 0;  // bytes still missing from the frame at the head
  size_t head = 0;
  wire::Message unused;
  if (wire::DecodeCompact(reinterpret_cast<const uint8_t*>(inbox_.data()), inbox_used_, &unused, &head) ==
      wire::CompactDecode::kMalformed)
    return 0;
  head_left = head > inbox_used_ ? head - inbox_used_ : wire::kCompactMinFrame - std::min(inbox_used_, size_t{1});
  return std::min(inbox_.size() - inbox_used_, head_left + (max_messages - 1) * wire::kCompactMinFrame);
}

Client::ReadOutcome Connection::ReadAndDispatch(int fd, uint64_t generation, int rounds, size_t max_messages) {
  using Outcome = Client::ReadOutcome;
  std::lock_guard<std::mutex> reading(read_mu_);
  bool compact;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_ || !fd_.valid()) return Outcome::kStale;
    compact = compact_;
  }
  if (inbox_generation_ != generation) {  // a new socket starts a new stream
    inbox_generation_ = generation;
    inbox_used_ = 0;
  }
  max_messages = std::clamp<size_t>(max_messages, 1, compact ? kInboxCompactMessages : kInboxMessages);
  for (int round = 0; round < rounds; ++round) {
    if (round > 0 && AnyConsumerBehind()) return Outcome::kBehind;
    const size_t room = ReadBudget(compact, max_messages);
    if (room == 0) return LoseFraming(generation);
    size_t got = 0;
    Failure failed = net::ReadSome(fd, inbox_.data() + inbox_used_, room, &got);
    if (!failed.ok()) return Outcome::kLost;
    if (got == 0) return Outcome::kDrained;
    const bool drained = got < room;  // the socket had no more
    inbox_used_ += got;
    size_t at = 0;
    // Consecutive messages mostly go to the same client: look it up once for the run. (A client
    // removed meanwhile ignores deliveries: Deliver checks that it is still connected.)
    std::shared_ptr<ConnectionClient> client;
    wire::ClientId client_id;
    wire::Message decoded;
    for (;;) {
      const wire::Message* message;
      size_t used;
      const auto next = wire::NextMessage(compact, reinterpret_cast<const uint8_t*>(inbox_.data() + at),
                                          inbox_used_ - at, &decoded, &message, &used);
      if (next == wire::CompactDecode::kNeedMore) break;
      if (next == wire::CompactDecode::kMalformed) return LoseFraming(generation);
      at += used;
      if (message->msg_type != wire::kNotify) {  // FTB's client ignores anything else
        ignored_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (!client || !SameClientInProcess(client_id, message->dst.client)) {
        client = Find(message->dst.client);
        client_id = message->dst.client;
      }
      if (client) {
        client->Deliver(*message);
      } else {
        unaddressed_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    memmove(inbox_.data(), inbox_.data() + at, inbox_used_ - at);
    inbox_used_ -= at;
    if (drained) return Outcome::kDrained;  // no second recv just to learn that (level-triggered)
  }
  return Outcome::kMore;
}

// A compact frame no crftb agent writes: nothing after it can be trusted. The socket is shut
// down, so whichever thread reads it next sees the loss and the I/O thread reconnects.
Client::ReadOutcome Connection::LoseFraming(uint64_t generation) {
  inbox_used_ = 0;
  std::lock_guard<std::mutex> lock(mu_);
  if (generation == generation_) LoseLocked("malformed compact frame");
  return Client::ReadOutcome::kLost;
}

void Connection::NewSocketLocked() {
  ++generation_;
  reader_ = nullptr;  // the I/O thread reads the next socket until a reader begins again
  if (reader_changed_) {
    auto changed = std::move(reader_changed_);
    reader_changed_ = nullptr;
    changed();
  }
}

Client::Reading Connection::BeginReading(const void* who, std::function<void()> changed) {
  Client::Reading reading;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || (reader_ != nullptr && reader_ != who)) return reading;
    reader_changed_ = std::move(changed);
    if (!fd_.valid()) return reading;  // told once a socket is up
    const int copy = fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return reading;
    reader_ = who;
    ++reader_fds_;
    reading.fd = copy;
    reading.generation = generation_;
  }
  Wake();  // the I/O thread stops polling for input
  return reading;
}

Client::ReadOutcome Connection::ReadOnce(const Client::Reading& reading, size_t max_messages) {
  if (AnyConsumerBehind()) return Client::ReadOutcome::kBehind;
  return ReadAndDispatch(reading.fd, reading.generation, 1, max_messages);
}

void Connection::EndReading(const void* who, Client::Reading* reading, bool keep_listening) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reader_ == who) reader_ = nullptr;
    if (!keep_listening && (reader_ == nullptr || reader_ == who)) reader_changed_ = nullptr;
    if (reading->fd >= 0) {
      close(reading->fd);
      reading->fd = -1;
      --reader_fds_;
      changed_.notify_all();
    }
  }
  Wake();  // the I/O thread reads again
}

void Connection::Run() {
  int delay_ms = options_.reconnect_initial_ms;
  int64_t stop_deadline = kNoTimeout;
  for (;;) {
    int fd;
    bool want_out;
    bool other_reader;
    uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      other_reader = reader_ != nullptr;
      generation = generation_;
      const bool flushed = QueuedLocked() == 0;
      if (stopping_) {
        if (stop_deadline == kNoTimeout) stop_deadline = DeadlineAfter(kStopFlushMs);
        if (!fd_.valid() || flushed || RemainingMs(stop_deadline) == 0) return;
      }
      fd = fd_.valid() ? fd_.get() : -1;
      want_out = !flushed;
      output_idle_ = !want_out;
    }
    if (fd < 0) {
      bool hold;
      {
        std::lock_guard<std::mutex> lock(mu_);
        hold = suspended_ || !options_.reconnect;
      }
      bool readable, woken;
      net::WaitReadable(wake_.get(), -1, hold ? 1000 : delay_ms, &readable, &woken);
      uint64_t drain;
      while (read(wake_.get(), &drain, sizeof(drain)) > 0) {
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return;
        if (suspended_ || fd_.valid() || !options_.reconnect) continue;
      }
      if (!Reconnect(&delay_ms, false, options_.connect_timeout_ms)) {
        delay_ms = std::min(delay_ms * 2, options_.reconnect_max_ms);
      }
      continue;
    }
    // A consumer that is behind is not fed more: the socket is not read (TCP back-pressure).
    // Nor is it while another thread reads it (BeginReading); that reader reports its loss.
    const bool behind = !other_reader && AnyConsumerBehind();
    const bool hold_reads = other_reader || behind;
    struct pollfd p[2] = {{fd, static_cast<short>((hold_reads ? 0 : POLLIN) | (want_out ? POLLOUT : 0)), 0},
                          {wake_.get(), POLLIN, 0}};
    int rc = poll(p, 2, stop_deadline != kNoTimeout ? 50 : behind ? 10 : -1);
    if (rc < 0) continue;  // EINTR
    if (p[1].revents & POLLIN) {
      uint64_t drain;
      while (read(wake_.get(), &drain, sizeof(drain)) > 0) {
      }
    }
    if (p[0].revents & POLLOUT) Flush();
    bool lost = (p[0].revents & (POLLERR | POLLNVAL)) != 0;
    if (!lost && (p[0].revents & POLLHUP) && other_reader) lost = true;
    if (!lost && (p[0].revents & (POLLIN | POLLHUP)) && !other_reader) {
      lost = ReadAndDispatch(fd, generation, 64, kInboxMessages) == Client::ReadOutcome::kLost;
    }
    bool closing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing = closing_ && fd_.valid();
    }
    if (lost || closing) {
      std::lock_guard<std::mutex> lock(mu_);
      if (fd_.valid()) {
        fd_.reset();
        if (!closing_) ++losses_;  // closed for a checkpoint is not a loss
        NewSocketLocked();
      }
      closing_ = false;
      DropQueuedLocked();
      flushing_.clear();
      flushing_done_ = 0;
      delay_ms = options_.reconnect_initial_ms;
      changed_.notify_all();
    }
  }
}

void Connection::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      wire::Message dereg;
      memset(&dereg, 0, sizeof(dereg));
      dereg.msg_type = wire::kClientDereg;
      dereg.src = manager_;
      SendLocked(&dereg);
      stopping_ = true;
    }
  }
  Wake();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  fd_.reset();
  reader_ = nullptr;
  reader_changed_ = nullptr;
  clients_.clear();
}

bool Connection::Suspend(int flush_ms) {
  std::unique_lock<std::mutex> lock(mu_);
  suspended_ = true;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(flush_ms);
  // What was published just before (the checkpoint's BEGIN) goes out before the socket closes.
  if (QueuedLocked() > 0) Wake();
  changed_.wait_until(lock, until, [this] { return stopping_ || !fd_.valid() || QueuedLocked() == 0; });
  // A reconnect in progress is bounded by its connect timeout and then discards its socket.
  changed_.wait(lock, [this] { return !connecting_; });
  if (stopping_ || !fd_.valid()) return false;
  // The I/O thread owns the fd while it polls it: ask it to close the socket and wait until it has.
  closing_ = true;
  shutdown(fd_.get(), SHUT_RDWR);
  lock.unlock();
  Wake();
  lock.lock();
  changed_.wait(lock, [this] { return !fd_.valid() || stopping_; });
  // A reader's duplicate would keep the socket in the image: its thread closes it once told the
  // socket is gone (NewSocketLocked), within the flush bound unless that thread is blocked.
  changed_.wait_until(lock, until, [this] { return reader_fds_ == 0 || stopping_; });
  return true;
}

bool Connection::Resume(int connect_timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || fd_.valid()) {
      suspended_ = false;
      return false;
    }
  }
  int delay_ms = options_.reconnect_initial_ms;
  const bool opened = Reconnect(&delay_ms, true, connect_timeout_ms);
  {
    std::lock_guard<std::mutex> lock(mu_);
    suspended_ = false;
  }
  Wake();  // the I/O thread polls the new socket, or goes back to retrying with back-off
  return opened;
}

ConnectionStats Connection::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  ConnectionStats s;
  s.connected = fd_.valid();
  s.fd = fd_.get();
  s.agent = where_;
  s.reconnects = reconnects_;
  s.losses = losses_;
  s.backlog_bytes = QueuedLocked();
  s.read_elsewhere = reader_ != nullptr;
  s.compact_frames = fd_.valid() && compact_;
  s.ignored = ignored_.load(std::memory_order_relaxed);
  s.unaddressed = unaddressed_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace crftb::ftb
