#include "cr/criu/service.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.h"
#include "cr/criu/daemon.h"
#include "cr/criu/service_env.h"
#include "cr/criu/spawn.h"

namespace crftb::cr::criu {

namespace {

void WaitChild(pid_t pid) {
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Failure Service::Start(const std::string& binary, ServiceUse use, Service* out, int keep_fd, int output_fd) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return Failure::FromErrno(errno, "socketpair for the CRIU service").At("socketpair");
  UniqueFd ours(pair[0]), theirs(pair[1]);
  const std::string fd_text = std::to_string(kPassedFd);
  // CRIU's RPC forces a detached restore; sibling is only honoured by a `swrk` service.
  const std::vector<std::string> argv =
      use == ServiceUse::kRestoreAsOurChild
          ? std::vector<std::string>{binary, "--restore-detached", "--restore-sibling", "swrk", fd_text}
          : std::vector<std::string>{binary, "swrk", fd_text};
  SpawnOptions options;
  options.pass_fd = theirs.get();
  options.keep_fd = keep_fd;
  options.output_fd = output_fd;
  options.detach = use == ServiceUse::kSelfDump;
  ServiceEnvironment env;
  pid_t child = 0;
  if (Failure f = Spawn(argv, env.get(), options, &child); !f.ok()) {
    f.message = "starting the CRIU service " + binary + ": " + f.message;
    return f;
  }
  out->fd_ = ours.release();
  out->child_ = child;  // 0 when detached: the service is nobody's child of ours
  return Failure::None();
}

Failure Service::Connect(const std::string& binary, Service* out) {
  constexpr int kStartMs = 10000;  // criu's start-up probes the kernel: seconds on a loaded machine
  return ConnectDaemon(binary, kStartMs, &out->fd_);
}

Service::~Service() {
  if (fd_ >= 0) close(fd_);  // never handed to libcriu: the service sees the hang-up and exits
  fd_ = -1;
  Wait();
}

int Service::TakeFd() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void Service::Wait() {
  if (child_ > 0) WaitChild(child_);
  child_ = 0;
}

}  // namespace crftb::cr::criu
