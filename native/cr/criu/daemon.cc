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
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "common/read_file.h"
#include "common/unique_fd.h"
#include "cr/criu/service_env.h"

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

// In the forked children: reports errno on `status_fd` and ends.
[[noreturn]] void Fail(int status_fd) {
  int err = errno;
  ssize_t ignored = write(status_fd, &err, sizeof err);
  (void)ignored;
  _exit(127);
}

// In the forked children of a multi-threaded process: async-signal-safe calls only. `status_fd`
// (close-on-exec) carries the errno of a start that failed before exec; a successful exec closes it.
[[noreturn]] void ExecWatchdog(char* const argv[], char* const envp[], int null_fd, int status_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // CRIU needs SIGCHLD; a worker thread may block it
  pid_t grandchild = fork();
  if (grandchild < 0) Fail(status_fd);
  if (grandchild > 0) _exit(0);  // the watchdog is nobody's child of ours
  setsid();
  if (chdir("/") != 0) Fail(status_fd);
  if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(null_fd, 2) < 0) Fail(status_fd);
  if (status_fd != 3 && dup3(status_fd, 3, O_CLOEXEC) < 0) Fail(status_fd);
  status_fd = 3;  // pipe2 made it close-on-exec; a dup3 keeps that
  // Nothing of ours may outlive us in the daemon: descriptors the process inherited without
  // close-on-exec included.
  if (syscall(SYS_close_range, 4u, ~0u, 0u) != 0)
    for (int fd = 4; fd < 65536; ++fd) close(fd);
  execve(argv[0], argv, envp);
  Fail(status_fd);
}

Failure StartDaemon(const std::string& binary, std::string start_time, std::string* dir) {
  if (start_time.empty()) return Failure::System(EIO, "cannot read this process's start time");
  char templ[] = "/tmp/crftb-criu-XXXXXX";  // short: a socket path has ~100 bytes
  const std::string pattern = templ;        // mkdtemp may change templ even when it fails
  if (!mkdtemp(templ))
    return Failure::FromErrno(errno, "cannot create a directory for the CRIU service").At("mkdtemp", pattern);
  *dir = templ;
  std::string socket_path = *dir + "/service.sock";
  std::string sh = "/bin/sh", dash_c = "-c", script = kWatchdog, criu = binary, owner = std::to_string(getpid());
  char* const argv[] = {sh.data(),    dash_c.data(),     script.data(), criu.data(), socket_path.data(),
                        owner.data(), start_time.data(), dir->data(),   nullptr};
  auto give_up = [&](int err, const std::string& what, const char* failed_call, const std::string& file = "") {
    rmdir(dir->c_str());
    dir->clear();
    return Failure::FromErrno(err, what).At(failed_call, file);
  };
  UniqueFd null_fd(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null_fd.valid()) return give_up(errno, "cannot open /dev/null for the CRIU service", "open", "/dev/null");
  int status[2];
  if (pipe2(status, O_CLOEXEC) != 0) return give_up(errno, "cannot start the CRIU service " + binary, "pipe2");
  UniqueFd status_read(status[0]), status_write(status[1]);
  ServiceEnvironment env;
  pid_t child = fork();
  if (child == 0) ExecWatchdog(argv, env.get(), null_fd.get(), status_write.get());
  if (child < 0) return give_up(errno, "cannot start the CRIU service " + binary, "fork");
  status_write.reset();
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  int err = 0;
  ssize_t n;
  while ((n = read(status_read.get(), &err, sizeof err)) < 0 && errno == EINTR) {
  }
  // Any of the child's steps up to exec (fork, chdir, dup2, execve): several calls, one file.
  if (n == static_cast<ssize_t>(sizeof err))
    return give_up(err, "cannot start the CRIU service's watchdog /bin/sh", "", "/bin/sh");
  return Failure::None();
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
