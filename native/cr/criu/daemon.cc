#include "cr/criu/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/read_file.h"

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

// In the forked children of a multi-threaded process: async-signal-safe calls only.
[[noreturn]] void ExecWatchdog(char* const argv[], int null_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // CRIU needs SIGCHLD; a worker thread may block it
  pid_t grandchild = fork();
  if (grandchild < 0) _exit(127);
  if (grandchild > 0) _exit(0);  // the watchdog is nobody's child of ours
  setsid();
  if (chdir("/") != 0) _exit(127);
  if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) _exit(127);
  // Nothing of ours may outlive us in the daemon: descriptors the process inherited without
  // close-on-exec included.
  if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  execv(argv[0], argv);
  _exit(127);
}

Failure StartDaemon(const std::string& binary, std::string start_time, std::string* dir) {
  if (start_time.empty()) return Failure::Coded("EIO", "cannot read this process's start time", EIO);
  char templ[] = "/tmp/crftb-criu-XXXXXX";  // short: a socket path has ~100 bytes
  if (!mkdtemp(templ)) return Failure::FromErrno(errno, "cannot create a directory for the CRIU service");
  *dir = templ;
  std::string socket_path = *dir + "/service.sock";
  std::string sh = "/bin/sh", dash_c = "-c", script = kWatchdog, criu = binary, owner = std::to_string(getpid());
  char* const argv[] = {sh.data(), dash_c.data(), script.data(), criu.data(), socket_path.data(), owner.data(),
                        start_time.data(), dir->data(), nullptr};
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) {
    int err = errno;
    rmdir(dir->c_str());
    return Failure::FromErrno(err, "cannot open /dev/null for the CRIU service");
  }
  pid_t child = fork();
  if (child == 0) ExecWatchdog(argv, null_fd);
  int err = errno;
  close(null_fd);
  if (child < 0) {
    rmdir(dir->c_str());
    return Failure::FromErrno(err, "cannot start the CRIU service " + binary);
  }
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return Failure::None();
}

std::mutex& Mutex() {
  static std::mutex* mutex = new std::mutex;  // never destroyed: request threads may outlive exit
  return *mutex;
}

struct Daemon {
  std::string dir;         // its private directory, "" when none is running
  std::string owner_time;  // our start time when it was started: a restored copy differs
};

std::map<std::string, Daemon>& Daemons() {  // by criu binary
  static auto* daemons = new std::map<std::string, Daemon>;
  return *daemons;
}

}  // namespace

Failure ConnectDaemon(const std::string& binary, int start_ms, int* fd) {
  std::lock_guard<std::mutex> lock(Mutex());
  Daemon& daemon = Daemons()[binary];
  std::string& dir = daemon.dir;
  // A copy restored from a checkpoint has the original's memory, the original's daemon among it;
  // that one is the original's to stop, so the copy starts its own.
  const std::string now = OwnStartTime();
  if (!dir.empty() && now == daemon.owner_time && TryConnect(dir + "/service.sock", fd) == 0) return Failure::None();
  daemon.owner_time = now;
  if (Failure f = StartDaemon(binary, now, &dir); !f.ok()) {
    dir.clear();
    return f;
  }
  const std::string path = dir + "/service.sock";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(start_ms);
  int err = 0;
  struct stat st;
  while ((err = TryConnect(path, fd)) == ENOENT || err == ECONNREFUSED) {
    // The watchdog removes the directory as soon as the daemon dies (a criu that cannot start).
    if (stat(dir.c_str(), &st) != 0 || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (err == 0) return Failure::None();
  dir.clear();
  return Failure::Coded("ECOMM", "the CRIU service " + binary + " did not come up (" + strerror(err) + ")", ECOMM);
}

}  // namespace crftb::cr::criu
