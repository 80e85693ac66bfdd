#include "cr/criu/service.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cr/criu/daemon.h"
#include "cr/criu/service_env.h"

namespace crftb::cr::criu {

namespace {

void WaitChild(pid_t pid) {
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// In the forked child of a multi-threaded process: async-signal-safe calls only.
[[noreturn]] void ExecService(const char* binary, char* const argv[], char* const envp[], int service_end,
                              bool detach) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // CRIU needs SIGCHLD; a worker thread may block it
  if (detach) {
    pid_t grandchild = fork();
    if (grandchild < 0) _exit(127);
    if (grandchild > 0) _exit(0);
    setsid();
    if (chdir("/") != 0) _exit(127);
  }
  int flags = fcntl(service_end, F_GETFD);
  if (flags < 0 || fcntl(service_end, F_SETFD, flags & ~FD_CLOEXEC) < 0) _exit(127);
  execve(binary, argv, envp);
  _exit(127);
}

}  // namespace

Failure Service::Start(const std::string& binary, ServiceUse use, Service* out) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    return Failure::FromErrno(errno, "socketpair for the CRIU service").At("socketpair");
  // Everything the child needs is prepared before fork.
  std::string fd_text = std::to_string(pair[1]);
  std::string path = binary;
  char swrk[] = "swrk";
  // CRIU's RPC forces a detached restore; sibling is only honoured by a `swrk` service.
  char detached[] = "--restore-detached";
  char sibling[] = "--restore-sibling";
  char* const plain_argv[] = {path.data(), swrk, fd_text.data(), nullptr};
  char* const sibling_argv[] = {path.data(), detached, sibling, swrk, fd_text.data(), nullptr};
  char* const* argv = use == ServiceUse::kRestoreAsOurChild ? sibling_argv : plain_argv;
  const bool detach = use == ServiceUse::kSelfDump;
  ServiceEnvironment env;
  pid_t child = fork();
  if (child < 0) {
    int err = errno;
    close(pair[0]);
    close(pair[1]);
    return Failure::FromErrno(err, "starting the CRIU service " + binary).At("fork");
  }
  if (child == 0) ExecService(path.c_str(), argv, env.get(), pair[1], detach);
  close(pair[1]);
  out->fd_ = pair[0];
  if (detach) {
    WaitChild(child);  // the intermediate exits at once; the service is nobody's child of ours
  } else {
    out->child_ = child;
  }
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
