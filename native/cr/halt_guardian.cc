#include "cr/halt_guardian.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <string>

#include "cr/criu/spawn.h"
#include "cr/scope.h"

namespace crftb::cr {

namespace {

// Descriptor 3: the request's socket. `read` and `kill` are dash/bash builtins, so the guardian
// needs no PATH and no environment. The start time is field 22 of /proc/PID/stat, the 20th after
// the command name (which may itself hold ") ").
constexpr const char* kGuardian =
    "set -f\n"
    "owned() { read -r l </proc/$1/stat || return 1; t=$2; set -- ${l##*) }; [ \"${20}\" = \"$t\" ]; }\n"
    "while read -r w r <&3; do\n"
    "  case $w in 'done') exit 0 ;; pids) set -- $r ;; esac\n"
    "done\n"
    "while [ $# -ge 2 ]; do owned \"$1\" \"$2\" 2>/dev/null && kill -CONT \"$1\" 2>/dev/null; shift 2; done\n";

// Long enough for a guardian on a loaded machine to read a line; short enough that one stopped by
// someone else does not hold the request up for long (the line is then cut, and the guardian,
// not recognising it, may let processes that were to stay stopped continue: the safe side).
constexpr int kSendTimeoutSeconds = 2;

std::string PidsLine(const std::vector<pid_t>& pids) {
  std::string line = "pids";
  for (pid_t pid : pids) {
    const std::string started = ProcessStartTime(pid);
    if (!started.empty()) line += " " + std::to_string(pid) + " " + started;
  }
  return line + "\n";
}

}  // namespace

Failure HaltGuardian::Start(const std::vector<pid_t>& pids, HaltGuardian* out) {
  const std::string refused =
      "cannot start the guardian that lets the processes continue should this process die before it "
      "has resumed or killed them; nothing was stopped";
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
    return Failure::FromErrno(errno, refused).At("socketpair");
  UniqueFd ours(pair[0]), theirs(pair[1]);
  const timeval timeout{kSendTimeoutSeconds, 0};
  setsockopt(ours.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  // Detached (not our child, its own session) and with nothing of ours but its end of the socket.
  criu::SpawnOptions options;
  options.pass_fd = theirs.get();
  options.detach = true;
  options.null_stdio = true;
  options.close_inherited = true;
  char* const no_environment[] = {nullptr};
  pid_t none = 0;
  if (Failure f = criu::Spawn({"/bin/sh", "-c", kGuardian, "crftb-halt-guardian"}, no_environment, options, &none);
      !f.ok()) {
    f.message = refused + ": " + f.message;
    return f;
  }
  out->fd_ = std::move(ours);
  // Said at once: if this process dies now, the guardian still finds the line before end of file.
  out->Watch(pids);
  return Failure::None();
}

void HaltGuardian::Watch(const std::vector<pid_t>& pids) { Say(PidsLine(pids)); }

void HaltGuardian::Dismiss() {
  if (!fd_.valid()) return;
  Say("done\n");
  fd_.reset();
}

void HaltGuardian::Say(const std::string& line) {
  if (!fd_.valid()) return;
  size_t sent = 0;
  while (sent < line.size()) {
    ssize_t n = send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the guardian is gone, or stopped by someone: nothing more to tell it
    sent += static_cast<size_t>(n);
  }
}

}  // namespace crftb::cr
