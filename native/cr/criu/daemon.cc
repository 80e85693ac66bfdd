#include "cr/criu/daemon.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/read_file.h"
#include "common/unique_fd.h"
#include "cr/criu/service_env.h"
#include "cr/criu/spawn.h"

namespace crftb::cr::criu {

namespace {

// $0 criu, $1 socket, $2 owner pid, $3 owner start time, $4 private directory.
constexpr const char* kWatchdog =
    "\"$0\" service --address \"$1\" </dev/null >/dev/null 2>&1 &\n"
    "c=$! s=$1 o=$2 t=$3 d=$4\n"
    "owned() { read -r l </proc/$o/stat || return 1; set -- ${l##*) }; [ \"${20}\" = \"$t\" ]; }\n"
    "while owned 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 0.5; done\n"
    "kill -TERM $c 2>/dev/null; rm -f \"$s\"; rmdir \"$d\"\n";

// Field 22 of /proc/self/stat: with the pid, what identifies this process for the watchdog.
std::string OwnStartTime() {
  std::string line;
  if (!ReadWholeFile("/proc/self/stat", &line)) return "";
  size_t close = line.rfind(") ");
  if (close == std::string::npos) return "";
  size_t at = close + 2;
  for (int field = 3; field < 22 && at != std::string::npos; ++field) {
    at = line.find(' ', at);
    if (at != std::string::npos) ++at;
  }
  if (at == std::string::npos) return "";
  return line.substr(at, line.find_first_of(" \n", at) - at);
}

// 0 with a connected close-on-exec socket in *fd, else the errno of the attempt.
int TryConnect(const std::string& path, int* fd) {
  int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  memcpy(address.sun_path, path.c_str(), path.size() + 1);
  while (connect(s, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    if (errno == EINTR) continue;
    int err = errno;
    close(s);
    return err;
  }
  *fd = s;
  return 0;
}

Failure StartDaemon(const std::string& binary, std::string start_time, std::string* dir) {
  if (start_time.empty()) return Failure::System(EIO, "cannot read this process's start time");
  char templ[] = "/tmp/crftb-criu-XXXXXX";  // short: a socket path has ~100 bytes
  if (!mkdtemp(templ))
    return Failure::FromErrno(errno, "cannot create a directory for the CRIU service").At("mkdtemp", templ);
  *dir = templ;
  // Nobody's child of ours, on /dev/null, and nothing of ours may outlive us in it: descriptors
  // the process inherited without close-on-exec included.
  SpawnOptions options;
  options.detach = true;
  options.null_stdio = true;
  options.close_inherited = true;
  ServiceEnvironment env;
  pid_t none = 0;
  Failure f =
      Spawn({"/bin/sh", "-c", kWatchdog, binary, *dir + "/service.sock", std::to_string(getpid()), start_time, *dir},
            env.get(), options, &none);
  if (!f.ok()) {
    rmdir(dir->c_str());
    dir->clear();
    f.message = "cannot start the CRIU service " + binary + ": " + f.message;
  }
  return f;
}

std::mutex& Mutex() {
  static std::mutex* mutex = new std::mutex;  // never destroyed: request threads may outlive exit
  return *mutex;
}

using Clock = std::chrono::steady_clock;

// After a daemon that could not be started: self-dumps use a service of their own meanwhile
// rather than waiting for another failed start each time.
constexpr auto kRetryAfter = std::chrono::seconds(60);

struct Daemon {
  std::string dir;         // its private directory, "" when none is running
  std::string owner_time;  // our start time when it was started: a restored copy differs
  Clock::time_point started{};
  bool served = false;  // it answered once: a later failure means it died, not that it cannot start
  Clock::time_point retry_after{};
};

std::map<std::string, Daemon>& Daemons() {  // by criu binary
  static auto* daemons = new std::map<std::string, Daemon>;
  return *daemons;
}

}  // namespace

Failure ConnectDaemon(const std::string& binary, int start_ms, int* fd) {
  std::lock_guard<std::mutex> lock(Mutex());
  Daemon& daemon = Daemons()[binary];
  // A copy restored from a checkpoint has the original's memory, the original's daemon among it;
  // that one is the original's to stop, so the copy starts its own.
  if (daemon.dir.empty() || OwnStartTime() != daemon.owner_time)
    return Failure::System(ENOENT, "no CRIU service of this process yet");
  const std::string path = daemon.dir + "/service.sock";
  const auto deadline = daemon.started + std::chrono::milliseconds(start_ms);
  int err = 0;
  struct stat st;
  while ((err = TryConnect(path, fd)) == ENOENT || err == ECONNREFUSED) {
    // Still starting, or gone: the watchdog removes the directory as soon as the daemon dies.
    if (stat(daemon.dir.c_str(), &st) != 0 || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (err == 0) {
    daemon.served = true;
    return Failure::None();
  }
  if (!daemon.served) daemon.retry_after = Clock::now() + kRetryAfter;  // it never came up
  daemon.dir.clear();
  return Failure::System(ECOMM, "the CRIU service " + binary + " is gone or did not come up (" + strerror(err) + ")");
}

void StartDaemonIfNone(const std::string& binary) {
  std::lock_guard<std::mutex> lock(Mutex());
  Daemon& daemon = Daemons()[binary];
  const std::string now = OwnStartTime();
  if (!daemon.dir.empty() && now == daemon.owner_time) return;
  if (now == daemon.owner_time && Clock::now() < daemon.retry_after) return;
  daemon = Daemon{};
  daemon.owner_time = now;
  daemon.started = Clock::now();
  if (!StartDaemon(binary, now, &daemon.dir).ok()) daemon.retry_after = Clock::now() + kRetryAfter;
}

}  // namespace crftb::cr::criu
