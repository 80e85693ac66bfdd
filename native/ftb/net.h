// Socket helpers shared by the FTB client, agent and bootstrap server. Every descriptor is
// created close-on-exec and non-blocking (SOCK_CLOEXEC|SOCK_NONBLOCK at birth, accept4 for
// accepted ones) and owned by a UniqueFd (common/unique_fd.h), so no error path can leak or
// double-close it. Blocking behaviour is built with poll() and explicit deadlines
// (common/deadline.h): nothing here waits forever unless the caller passes kNoTimeout, and
// nothing calls exit().
#pragma once

#include <netinet/in.h>
#include <stddef.h>

#include <vector>

#include "common/failure.h"
#include "common/unique_fd.h"
#include "ftb/wire.h"

namespace crftb::ftb::net {

// TCP connect with a deadline; TCP_NODELAY set. Failures: ECONNREFUSED, ETIMEDOUT, ...
Failure ConnectTcp(const in_addr& address, int port, int timeout_ms, UniqueFd* out);

// Listener for agents: SO_REUSEADDR, bound to `address` (INADDR_ANY for FTB's behaviour).
Failure ListenTcp(const in_addr& address, int port, int backlog, UniqueFd* out);
// One accepted connection (accept4 with SOCK_CLOEXEC|SOCK_NONBLOCK, TCP_NODELAY set).
// Returns an ok Failure and an invalid fd when nothing is pending (EAGAIN).
Failure AcceptTcp(int listen_fd, UniqueFd* out, sockaddr_in* peer);

// Port a bound socket got (for listeners on port 0).
int LocalPort(int fd);

// Writes all `length` bytes (send with MSG_NOSIGNAL; EINTR and short writes retried; poll on
// EAGAIN until the deadline → ETIMEDOUT). A vanished peer gives EPIPE/ECONNRESET.
Failure WriteFull(int fd, const void* data, size_t length, int64_t deadline_ms);
// Reads exactly `length` bytes. EOF before the first byte or in the middle → ECONNRESET with a
// message saying the peer closed the connection; *clean_eof tells the two apart when given.
Failure ReadFull(int fd, void* data, size_t length, int64_t deadline_ms, bool* clean_eof = nullptr);
// Sends what the socket takes now without waiting (MSG_DONTWAIT|MSG_NOSIGNAL, EINTR retried);
// *sent may be anything from 0 to length. Errors other than EAGAIN are failures.
Failure SendSome(int fd, const void* data, size_t length, size_t* sent);
// Reads what is available now (0 bytes when nothing is). EOF → ECONNRESET.
Failure ReadSome(int fd, void* data, size_t capacity, size_t* got);

// Waits until `fd` is readable or `wake_fd` (an eventfd/pipe, may be -1) is; EINTR retried.
// *readable / *woken report which. timeout_ms may be kNoTimeout.
Failure WaitReadable(int fd, int wake_fd, int timeout_ms, bool* readable, bool* woken);

// §9.1 request/response with a bootstrap server over a fresh UDP socket. Each attempt re-sends
// the request and waits attempt_timeouts_ms[i]; FTB's schedule is 100, 400, 1600, 6400, 25600.
// Datagrams that are not 144 bytes are ignored (FTB exits). All attempts silent →
// FTB_ERR_NETWORK_NO_ROUTE. `reply` may be nullptr for fire-and-forget packets (CONN_FAIL).
std::vector<int> FtbBootstrapTimeouts();
Failure BootstrapExchange(const in_addr& server, int port, const wire::BootstrapPacket& request,
                          wire::BootstrapPacket* reply, const std::vector<int>& attempt_timeouts_ms);

// UDP socket for a bootstrap server: bound to address:port, close-on-exec, non-blocking.
Failure BindUdp(const in_addr& address, int port, UniqueFd* out);

}  // namespace crftb::ftb::net
