#include "ftb/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <string>

#include "common/deadline.h"
#include "ftb/codes.h"

namespace crftb::ftb::net {
namespace {

std::string Endpoint(const in_addr& address, int port) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(port);
}

sockaddr_in SockAddr(const in_addr& address, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr = address;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  return sa;
}

// poll() one fd for `events` with EINTR retried against the absolute deadline.
int PollOne(int fd, short events, int64_t deadline_ms) {
  for (;;) {
    struct pollfd p = {fd, events, 0};
    int rc = poll(&p, 1, RemainingMs(deadline_ms));
    if (rc >= 0) return rc;
    if (errno != EINTR) return -1;
  }
}

Failure Closed(const char* what) {
  return Failure::System(ECONNRESET, std::string(what) + ": the peer closed the connection");
}

}  // namespace

Failure ConnectTcp(const in_addr& address, int port, int timeout_ms, UniqueFd* out) {
  const std::string where = Endpoint(address, port);
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Failure::FromErrno(errno, "socket() for " + where).At("socket");
  int one = 1;
  if (setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
    return Failure::FromErrno(errno, "TCP_NODELAY for " + where).At("setsockopt");
  }
  const int64_t deadline = DeadlineAfter(timeout_ms);
  sockaddr_in sa = SockAddr(address, port);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) {
      return Failure::FromErrno(errno, "connect to FTB agent at " + where).At("connect");
    }
    int rc = PollOne(fd.get(), POLLOUT, deadline);
    if (rc < 0) return Failure::FromErrno(errno, "poll() connecting to " + where).At("poll");
    if (rc == 0) {
      return Failure::System(ETIMEDOUT, "connect to FTB agent at " + where + " timed out after " +
                                            std::to_string(timeout_ms) + " ms")
          .At("connect");
    }
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) return Failure::FromErrno(err, "connect to FTB agent at " + where).At("connect");
  }
  *out = std::move(fd);
  return Failure::None();
}

Failure ListenTcp(const in_addr& address, int port, int backlog, UniqueFd* out) {
  const std::string where = Endpoint(address, port);
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Failure::FromErrno(errno, "socket() for listener " + where).At("socket");
  int one = 1;
  if (setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return Failure::FromErrno(errno, "SO_REUSEADDR on " + where).At("setsockopt");
  }
  sockaddr_in sa = SockAddr(address, port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return Failure::FromErrno(errno, "bind " + where).At("bind");
  }
  if (listen(fd.get(), backlog) != 0) return Failure::FromErrno(errno, "listen on " + where).At("listen");
  *out = std::move(fd);
  return Failure::None();
}

Failure AcceptTcp(int listen_fd, UniqueFd* out, sockaddr_in* peer) {
  for (;;) {
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    UniqueFd fd(accept4(listen_fd, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        out->reset();
        return Failure::None();
      }
      return Failure::FromErrno(errno, "accept4").At("accept4");
    }
    int one = 1;
    if (setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0) {
      return Failure::FromErrno(errno, "TCP_NODELAY on an accepted connection").At("setsockopt");
    }
    if (peer != nullptr) *peer = sa;
    *out = std::move(fd);
    return Failure::None();
  }
}

int LocalPort(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return -1;
  return ntohs(sa.sin_port);
}

Failure WriteFull(int fd, const void* data, size_t length, int64_t deadline_ms) {
  const char* p = static_cast<const char*>(data);
  while (length > 0) {
    ssize_t n = send(fd, p, length, MSG_NOSIGNAL);
    if (n > 0) {
      p += n;
      length -= static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int rc = PollOne(fd, POLLOUT, deadline_ms);
      if (rc < 0) return Failure::FromErrno(errno, "poll() writing to FTB peer").At("poll");
      if (rc == 0) {
        return Failure::System(ETIMEDOUT, "writing to FTB peer timed out (peer not reading)");
      }
      continue;
    }
    return Failure::FromErrno(n < 0 ? errno : EPIPE, "writing to FTB peer").At("send");
  }
  return Failure::None();
}

Failure ReadFull(int fd, void* data, size_t length, int64_t deadline_ms, bool* clean_eof) {
  char* p = static_cast<char*>(data);
  const size_t wanted = length;
  if (clean_eof != nullptr) *clean_eof = false;
  while (length > 0) {
    ssize_t n = recv(fd, p, length, 0);
    if (n > 0) {
      p += n;
      length -= static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      if (clean_eof != nullptr) *clean_eof = length == wanted;
      return Closed("reading from FTB peer");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      int rc = PollOne(fd, POLLIN, deadline_ms);
      if (rc < 0) return Failure::FromErrno(errno, "poll() reading from FTB peer").At("poll");
      if (rc == 0) {
        return Failure::System(ETIMEDOUT, "FTB peer did not answer in time");
      }
      continue;
    }
    return Failure::FromErrno(errno, "reading from FTB peer").At("recv");
  }
  return Failure::None();
}

Failure SendSome(int fd, const void* data, size_t length, size_t* sent) {
  *sent = 0;
  const char* p = static_cast<const char*>(data);
  while (*sent < length) {
    ssize_t n = send(fd, p + *sent, length - *sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      *sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Failure::None();
    return Failure::FromErrno(n < 0 ? errno : EPIPE, "writing to FTB peer").At("send");
  }
  return Failure::None();
}

Failure ReadSome(int fd, void* data, size_t capacity, size_t* got) {
  *got = 0;
  for (;;) {
    ssize_t n = recv(fd, data, capacity, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return Failure::None();
    }
    if (n == 0) return Closed("reading from FTB peer");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Failure::None();
    return Failure::FromErrno(errno, "reading from FTB peer").At("recv");
  }
}

Failure WaitReadable(int fd, int wake_fd, int timeout_ms, bool* readable, bool* woken) {
  *readable = false;
  *woken = false;
  const int64_t deadline = DeadlineAfter(timeout_ms);
  for (;;) {
    struct pollfd p[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    int rc = poll(p, wake_fd >= 0 ? 2 : 1, RemainingMs(deadline));
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Failure::FromErrno(errno, "poll()").At("poll");
    }
    *readable = (p[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    *woken = wake_fd >= 0 && (p[1].revents & POLLIN) != 0;
    return Failure::None();
  }
}

std::vector<int> FtbBootstrapTimeouts() { return {100, 400, 1600, 6400, 25600}; }

Failure BootstrapExchange(const in_addr& server, int port, const wire::BootstrapPacket& request,
                          wire::BootstrapPacket* reply, const std::vector<int>& attempt_timeouts_ms) {
  const std::string where = Endpoint(server, port);
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Failure::FromErrno(errno, "UDP socket() for " + where).At("socket");
  sockaddr_in sa = SockAddr(server, port);
  auto send_request = [&]() -> Failure {
    ssize_t sent;
    do {
      sent = sendto(fd.get(), &request, sizeof(request), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
    } while (sent < 0 && errno == EINTR);
    // ECONNREFUSED is an ICMP answer to an earlier datagram: keep trying like FTB does.
    if (sent < 0 && errno != ECONNREFUSED) {
      return Failure::FromErrno(errno, "sending to FTB bootstrap server " + where).At("sendto");
    }
    return Failure::None();
  };
  if (reply == nullptr) return send_request();
  for (int timeout : attempt_timeouts_ms) {
    Failure failed = send_request();
    if (!failed.ok()) return failed;
    const int64_t deadline = DeadlineAfter(timeout);
    for (;;) {
      int rc = PollOne(fd.get(), POLLIN, deadline);
      if (rc < 0) return Failure::FromErrno(errno, "poll() on UDP socket").At("poll");
      if (rc == 0) break;  // this attempt timed out: re-send
      wire::BootstrapPacket packet;
      ssize_t n = recv(fd.get(), &packet, sizeof(packet), MSG_TRUNC);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == ECONNREFUSED) continue;
        return Failure::FromErrno(errno, "receiving from FTB bootstrap server " + where).At("recv");
      }
      if (n != static_cast<ssize_t>(sizeof(packet))) continue;  // not an FTB datagram
      *reply = packet;
      return Failure::None();
    }
  }
  return CodeFailure(kErrNetworkNoRoute, "no answer from the FTB bootstrap server at " + where + " after " +
                                             std::to_string(attempt_timeouts_ms.size()) + " attempts");
}

Failure BindUdp(const in_addr& address, int port, UniqueFd* out) {
  const std::string where = Endpoint(address, port);
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return Failure::FromErrno(errno, "UDP socket() for " + where).At("socket");
  sockaddr_in sa = SockAddr(address, port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return Failure::FromErrno(errno, "bind UDP " + where).At("bind");
  }
  *out = std::move(fd);
  return Failure::None();
}

}  // namespace crftb::ftb::net
