#include "ftb/bootstrap_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/unique_fd.h"
#include "ftb/bootstrap_probe.h"
#include "ftb/config.h"
#include "ftb/net.h"

namespace crftb::ftb {

namespace {

BootstrapRegistryOptions RegistryOptions(const BootstrapServerOptions& options) {
  BootstrapRegistryOptions out;
  out.fanout = options.fanout;
  out.max_entries = options.max_agents;
  out.max_entries_per_source = options.max_agents_per_source;
  if (options.liveness) {
    const int timeout = options.probe_timeout_ms;
    out.probe = [timeout](const std::vector<BootstrapEndpoint>& endpoints) { return ProbeAgents(endpoints, timeout); };
  }
  return out;
}

}  // namespace

std::unique_ptr<BootstrapServer> BootstrapServer::Start(const BootstrapServerOptions& options, Failure* failure) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (Failure bad = ParseListenAddress("bootstrap server", options.host, options.port, &address.sin_addr); !bad.ok()) {
    *failure = bad;
    return nullptr;
  }
  UniqueFd socket_fd;
  if (Failure failed = net::BindUdp(address.sin_addr, options.port, &socket_fd); !failed.ok()) {
    failed.message += " (is another bootstrap server using it? choose another port)";
    *failure = failed;
    return nullptr;
  }
  const int fd = socket_fd.release();
  const int wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd < 0) {
    const int err = errno;
    close(fd);
    *failure = Failure::FromErrno(err, "cannot create the bootstrap server's wake-up eventfd").At("eventfd");
    return nullptr;
  }
  std::unique_ptr<BootstrapServer> server(new BootstrapServer(options, fd, wake_fd, net::LocalPort(fd)));
  server->thread_ = std::thread([raw = server.get()] { raw->Run(); });
  return server;
}

BootstrapServer::BootstrapServer(const BootstrapServerOptions& options, int fd, int wake_fd, int port)
    : options_(options),
      registry_(RegistryOptions(options)),
      limiter_(options.max_requests_per_second, 4 * options.max_agents),
      fd_(fd),
      wake_fd_(wake_fd),
      host_(options.host),
      port_(port) {}

BootstrapServer::~BootstrapServer() { Stop(); }

void BootstrapServer::Stop() {
  std::lock_guard<std::mutex> lock(stop_mutex_);
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof one);
  if (thread_.joinable()) thread_.join();
  close(fd_);
  close(wake_fd_);
}

void BootstrapServer::Run() {
  const bool sweeping = options_.liveness && options_.liveness_interval_ms > 0;
  int64_t next_sweep = NowMs() + options_.liveness_interval_ms;
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopping_) {
    int timeout = -1;
    if (sweeping) timeout = static_cast<int>(std::max<int64_t>(0, next_sweep - NowMs()));
    const int ready = poll(fds, 2, timeout);
    if (ready < 0 && errno != EINTR) break;
    if (stopping_) break;
    if (ready > 0 && (fds[0].revents & POLLIN)) Receive();
    if (sweeping && NowMs() >= next_sweep) {
      registry_.Sweep();
      Publish();
      next_sweep = NowMs() + options_.liveness_interval_ms;
    }
  }
}

void BootstrapServer::Receive() {
  // Drain what is queued, but yield to the sweep timer and to Stop() now and then.
  for (int budget = 64; budget > 0 && !stopping_; --budget) {
    alignas(wire::BootstrapPacket) uint8_t buffer[512];
    sockaddr_in from{};
    socklen_t from_length = sizeof from;
    const ssize_t got =
        recvfrom(fd_, buffer, sizeof buffer, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_length);
    if (got < 0) return;  // EAGAIN (drained) or a transient error: poll again
    {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.requests;
    }
    if (static_cast<size_t>(got) != sizeof(wire::BootstrapPacket)) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.ignored;  // FTB warns and ignores datagrams of any other length
      continue;
    }
    if (!limiter_.Allow(from.sin_addr.s_addr, NowMs())) {
      std::lock_guard<std::mutex> lock(stats_mutex_);
      ++stats_.rate_limited;
      continue;
    }
    wire::BootstrapPacket request;
    memcpy(&request, buffer, sizeof request);
    const std::optional<wire::BootstrapPacket> reply = registry_.Handle(request, from.sin_addr.s_addr);
    Publish();  // before replying: whoever got the reply sees the new state in stats()
    bool sent = false;
    if (reply) {
      sent = sendto(fd_, &*reply, sizeof *reply, MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&from), from_length) ==
             static_cast<ssize_t>(sizeof *reply);
    }
    std::lock_guard<std::mutex> lock(stats_mutex_);
    if (sent) ++stats_.replies;
    if (!reply) ++stats_.ignored;
  }
}

void BootstrapServer::Publish() {
  std::vector<unsigned> children;
  for (const BootstrapEntry& entry : registry_.entries()) children.push_back(registry_.ChildrenOf(entry.addr));
  std::lock_guard<std::mutex> lock(stats_mutex_);
  stats_.entries.assign(registry_.entries().begin(), registry_.entries().end());
  stats_.children = std::move(children);
  stats_.removed_dead = registry_.removed_dead();
  stats_.registrations_refused = registry_.refused();
  stats_.entries_examined = registry_.examined();
}

BootstrapServerStats BootstrapServer::stats() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return stats_;
}

}  // namespace crftb::ftb
