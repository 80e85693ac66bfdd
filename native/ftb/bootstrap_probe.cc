#include "ftb/bootstrap_probe.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/deadline.h"
#include "ftb/config.h"

namespace crftb::ftb {

std::vector<ProbeResult> ProbeAgents(const std::vector<BootstrapEndpoint>& endpoints, int timeout_ms) {
  std::vector<ProbeResult> results(endpoints.size(), ProbeResult::kRefused);
  std::vector<pollfd> pending;
  std::vector<size_t> index_of;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    if (endpoints[i].port <= 0 || endpoints[i].port > 65535 || !ParseFtbAddress(endpoints[i].name, &to.sin_addr)) {
      continue;  // an address nobody can connect to is as dead as a refused one
    }
    to.sin_port = htons(static_cast<uint16_t>(endpoints[i].port));
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      results[i] = ProbeResult::kTimedOut;  // our problem, not the agent's: do not condemn it
      continue;
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      results[i] = ProbeResult::kAlive;
      close(fd);
      continue;
    }
    if (errno != EINPROGRESS) {
      close(fd);
      continue;
    }
    pending.push_back(pollfd{fd, POLLOUT, 0});
    index_of.push_back(i);
  }

  const int64_t deadline = NowMs() + timeout_ms;
  size_t open = pending.size();
  while (open > 0) {
    const int64_t left = deadline - NowMs();
    if (left <= 0) break;
    const int ready = poll(pending.data(), pending.size(), static_cast<int>(left));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    for (size_t k = 0; k < pending.size(); ++k) {
      if (pending[k].fd < 0 || pending[k].revents == 0) continue;
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(pending[k].fd, SOL_SOCKET, SO_ERROR, &error, &length);
      results[index_of[k]] = error == 0 ? ProbeResult::kAlive : ProbeResult::kRefused;
      close(pending[k].fd);
      pending[k].fd = -1;  // poll ignores negative descriptors
      --open;
    }
  }
  for (size_t k = 0; k < pending.size(); ++k) {
    if (pending[k].fd < 0) continue;
    results[index_of[k]] = ProbeResult::kTimedOut;
    close(pending[k].fd);
  }
  return results;
}

}  // namespace crftb::ftb
