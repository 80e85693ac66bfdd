// The bootstrap server process role (ftb_database_server): one UDP socket, served by its own
// thread, answering with BootstrapRegistry and sweeping dead agents out on a timer.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/failure.h"
#include "ftb/bootstrap_limits.h"
#include "ftb/bootstrap_registry.h"

namespace crftb::ftb {

struct BootstrapServerOptions {
  std::string host = "127.0.0.1";  // FTB binds INADDR_ANY; crftb binds where it is told
  int port = 0;                    // 0 = an ephemeral port
  unsigned fanout = 0;
  int liveness_interval_ms = 5000;  // 0 = never sweep; probes on reports still run
  int probe_timeout_ms = 500;
  bool liveness = true;                    // false = FTB 0.6.2's behaviour: dead agents stay registered
  size_t max_agents = 4096;                // registered agents in all
  size_t max_agents_per_source = 256;      // registered agents per source address
  unsigned max_requests_per_second = 100;  // per source address (burst: twice); 0 = no limit
};

struct BootstrapServerStats {
  uint64_t requests = 0, replies = 0, ignored = 0, removed_dead = 0;
  uint64_t rate_limited = 0;           // requests dropped over max_requests_per_second
  uint64_t registrations_refused = 0;  // bad address, unsupported level, or a cap reached
  uint64_t entries_examined = 0;       // BootstrapRegistry::examined()
  std::vector<BootstrapEntry> entries;
  std::vector<unsigned> children;  // per entry
};

class BootstrapServer {
 public:
  // Binds and starts serving; nullptr with `failure` set when the socket cannot be bound.
  static std::unique_ptr<BootstrapServer> Start(const BootstrapServerOptions& options, Failure* failure);
  ~BootstrapServer();

  void Stop();  // idempotent; returns when the thread has finished and the socket is closed
  const std::string& host() const { return host_; }
  int port() const { return port_; }
  BootstrapServerStats stats() const;

 private:
  BootstrapServer(const BootstrapServerOptions& options, int fd, int wake_fd, int port);
  void Run();
  void Receive();
  void Publish();  // copies the registry for stats() under a short lock

  const BootstrapServerOptions options_;
  BootstrapRegistry registry_;
  SourceRateLimiter limiter_;
  const int fd_;
  const int wake_fd_;
  const std::string host_;
  const int port_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex stop_mutex_;
  bool stopped_ = false;

  mutable std::mutex stats_mutex_;
  BootstrapServerStats stats_;
};

}  // namespace crftb::ftb
