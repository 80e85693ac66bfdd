// The process' one TCP connection to an FTB agent (PROTOCOL.md §6, §9.5, §12.2–12.4), shared by
// all clients of the process, and its I/O thread. Internal to the client (client.cc); see
// client.h for the model and the guarantees.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/failure.h"
#include "common/unique_fd.h"
#include "ftb/client.h"
#include "ftb/wire.h"

namespace crftb::ftb {

// What the connection needs from a client: its registration and subscriptions (re-sent after
// a reconnect) and somewhere to deliver NOTIFYs addressed to it.
class ConnectionClient {
 public:
  virtual ~ConnectionClient() = default;
  virtual const wire::ClientId& client_id() const = 0;
  // Masks of live subscriptions, polling ones first (FTB's re-registration order).
  virtual std::vector<wire::Event> SubscriptionMasks() const = 0;
  // Called on the I/O thread for each NOTIFY whose dst names this client.
  virtual void Deliver(const wire::Message& message) = 0;
  // Asked on the I/O thread before each read (must not block): true while this client's
  // consumer is behind. The connection then reads nothing until woken (Wake) or 10 ms later,
  // so TCP holds the agent back instead of events piling up here.
  virtual bool ConsumerBehind() const { return false; }
};

// Opens a connection to an agent: explicit address, or 127.0.0.1:<agent port> then the agent
// named by the bootstrap server; handshake included. Bounded by deadline_ms (absolute,
// NowMs clock).
Failure OpenAgentConnection(const ConnectOptions& options, const wire::LocationId& me, int64_t deadline_ms,
                            UniqueFd* fd, wire::LocationId* agent, std::string* where);

// The agent a connect with these options asks for: "<ip>:<port>" of its explicit agentHost /
// agentPort (FTB's resolution filling in the rest), or "" when it names none (any agent FTB's
// own resolution finds will do).
std::string RequestedAgent(const ConnectOptions& options);

class Connection {
 public:
  // Takes an open, handshaken socket and starts the I/O thread.
  Connection(const ConnectOptions& options, const wire::LocationId& me, UniqueFd fd, const wire::LocationId& agent,
             const std::string& where);
  ~Connection();  // Stop() must have been called

  const wire::LocationId& me() const { return me_; }
  const ConnectOptions& options() const { return options_; }

  void Add(std::shared_ptr<ConnectionClient> client);
  void Remove(const ConnectionClient* client);
  size_t ClientCount() const;
  std::shared_ptr<ConnectionClient> Find(const wire::ClientId& id) const;

  // Sends one message without waiting: msg.dst.location is set to the agent's location; bytes
  // the socket does not take go to the backlog. FTB_ERR_NETWORK_NO_ROUTE when there is no
  // connection (reconnecting), FTB_ERR_NETWORK_GENERAL when the backlog is full or the write
  // failed (the connection is then dropped and re-established by the I/O thread).
  //
  // `caller_flushes` (a thread with an event loop: the JS thread): a message of a burst that
  // would wake the idle I/O thread is left in the backlog and *caller_flushes set; the caller
  // then calls FlushForCaller once its run of sends ends. A burst then costs the caller one
  // write and the I/O thread nothing, where each burst used to cost a thread wake-up (the
  // dearest thing on a small VM). A large backlog is written at once.
  Failure Send(wire::Message* message, bool* caller_flushes = nullptr);

  // Writes the backlog left by Send(…, caller_flushes) on the calling thread unless the I/O
  // thread is writing already; what the socket does not take is left to the I/O thread.
  void FlushForCaller();

  // Sends the manager's CLIENT_DEREG, flushes (bounded), stops and joins the I/O thread, closes
  // the socket.
  void Stop();

  // Around a checkpoint of this process (client.h, SuspendProcessConnection): Suspend flushes
  // the backlog (bounded by flush_ms), waits out a reconnect in progress, has the I/O thread
  // close the socket and holds off reconnecting, so no agent socket exists while the process is
  // dumped. Resume reconnects on the calling thread (bounded by connect_timeout_ms), re-sending
  // every registration and subscription; when that fails the I/O thread keeps retrying. Both
  // return whether a socket was closed / opened.
  bool Suspend(int flush_ms);
  bool Resume(int connect_timeout_ms);

  ConnectionStats Stats() const;

  // Wakes the I/O thread (output queued, a consumer caught up, a state change).
  void Wake();

  // Reading on another thread (client.h, BeginReading): one reader at a time, named by `who`.
  Client::Reading BeginReading(const void* who, std::function<void()> changed);
  Client::ReadOutcome ReadOnce(const Client::Reading& reading, size_t max_messages);
  void EndReading(const void* who, Client::Reading* reading, bool keep_listening);
  bool AnyConsumerBehind() const;

 private:
  void Run();
  // resuming: called by Resume (while suspended) rather than by the I/O thread.
  bool Reconnect(int* delay_ms, bool resuming, int timeout_ms);
  void ReRegisterLocked();
  Failure SendLocked(wire::Message* message, bool* caller_flushes = nullptr);
  void WriteForCallerLocked();
  void LoseLocked(const std::string& why);
  // Reads up to `rounds` times (stopping early when a consumer is behind) and dispatches whole
  // messages, on whichever thread reads: read_mu_ keeps one reader at a time and the inbox
  // continuous across them. kStale when `generation` is no longer the current socket's.
  Client::ReadOutcome ReadAndDispatch(int fd, uint64_t generation, int rounds, size_t max_messages);
  size_t ReadBudget(bool compact, size_t max_messages) const;
  Client::ReadOutcome LoseFraming(uint64_t generation);
  void NewSocketLocked();  // fd_ changed: the reader's duplicate is stale
  void Flush();

  const ConnectOptions options_;
  const wire::LocationId me_;
  wire::FtbId manager_;

  mutable std::mutex mu_;
  UniqueFd fd_;
  wire::LocationId agent_;
  bool compact_ = false;  // this socket carries compact frames (wire_compact.h) both ways
  std::string where_;
  // Output not yet taken by the socket, in order: `flushing_` (owned by the I/O thread, written
  // without the lock; flushing_left_ bytes remain, updated under the lock) then `pending_`
  // (appended by senders). The I/O thread swaps pending_ into flushing_ when the latter is done.
  std::string pending_;
  std::string flushing_;
  size_t flushing_done_ = 0;
  size_t flushing_left_ = 0;
  size_t QueuedLocked() const { return pending_.size() + flushing_left_; }
  void DropQueuedLocked();
  int64_t last_send_ns_ = 0;
  // The I/O thread may block without looking at pending_ (it had no output when it last looked):
  // the next sender wakes it, once. While it is writing it picks new output up by itself, so a
  // flood costs one wake-up per drained backlog, not one eventfd write (and thread switch) per
  // message. While it is idle no thread but a caller of FlushForCaller writes.
  bool output_idle_ = true;
  std::vector<std::shared_ptr<ConnectionClient>> clients_;
  bool stopping_ = false;
  bool suspended_ = false;           // no socket may be opened (a checkpoint of this process is running)
  bool connecting_ = false;          // the I/O thread is opening a socket outside mu_
  bool closing_ = false;             // Suspend asked the I/O thread to close the socket
  std::condition_variable changed_;  // fd_, backlog_ or connecting_ changed
  uint64_t reconnects_ = 0;
  uint64_t losses_ = 0;
  // Written by whichever thread reads (under read_mu_), read by Stats (under mu_).
  std::atomic<uint64_t> ignored_{0};
  std::atomic<uint64_t> unaddressed_{0};

  // Which socket fd_ is (bumped each time it changes); a reader's duplicate names its own.
  uint64_t generation_ = 1;
  const void* reader_ = nullptr;          // the thread reading instead of the I/O thread
  std::function<void()> reader_changed_;  // told when fd_ goes away or a new one is up
  int reader_fds_ = 0;                    // duplicates handed out and not yet closed

  UniqueFd wake_;
  std::mutex read_mu_;  // the inbox and the right to read; taken before mu_
  std::vector<char> inbox_;
  size_t inbox_used_ = 0;
  uint64_t inbox_generation_ = 0;
  std::thread thread_;
};

}  // namespace crftb::ftb
