#include "cr/criu_check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <tuple>

#include "cr/criu/service_env.h"
#include "cr/criu/spawn.h"
#include "cr/criu_check_cache.h"

namespace crftb::cr {

namespace {

using Key = std::tuple<std::string, dev_t, ino_t, off_t, time_t, long>;

std::mutex cache_mutex;
std::map<Key, CriuCheckResult>& Cache() {
  static auto* cache = new std::map<Key, CriuCheckResult>();  // never destroyed: used at exit
  return *cache;
}

// Keeps the last few lines: what CRIU says last is why it failed.
std::string Tail(const std::string& text, int lines) {
  size_t end = text.find_last_not_of("\n ");
  if (end == std::string::npos) return "";
  size_t at = end + 1;
  for (int n = 0; n < lines && at > 0; ++n) {
    size_t nl = text.rfind('\n', at - 1);
    at = nl == std::string::npos ? 0 : nl;
  }
  return text.substr(at == 0 ? 0 : at + 1, end + 1 - (at == 0 ? 0 : at + 1));
}

// `criu check` against a deadline; CRIU gets our environment without LD_PRELOAD (service_env.h)
// and, as every CRIU crftb starts, an empty signal mask (spawn.h).
CriuCheckResult Run(const std::string& path) {
  constexpr int kDeadlineMs = 60'000;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {false, std::string("pipe: ") + strerror(errno), false};
  criu::SpawnOptions options;
  options.output_fd = fds[1];
  criu::ServiceEnvironment environment;
  pid_t pid = -1;
  const Failure started = criu::Spawn({path, "check"}, environment.get(), options, &pid);
  close(fds[1]);
  if (!started.ok()) {
    close(fds[0]);
    return {false, started.message, false};
  }
  std::string output;
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  bool timed_out = false;
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000;
    if (elapsed >= kDeadlineMs) {
      timed_out = true;
      break;
    }
    struct pollfd p = {fds[0], POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(kDeadlineMs - elapsed));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buffer[4096];
    ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 65536) output.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) return {false, "criu check did not finish within 60 s", false};
  bool passed = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return {passed, Tail(output, 2), WIFEXITED(status)};
}

}  // namespace

CriuCheckResult CheckCriu(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return {false, path + ": " + strerror(errno), false};
  Key key{path, st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = Cache().find(key);
    if (it != Cache().end()) return it->second;
  }
  // Not under the lock: a slow check of one binary must not hold up another's cached answer.
  // Two threads asking at once may both run it; both get the same answer.
  const std::string stored_key = CriuCheckKey(path);
  CriuCheckResult result;
  if (!LoadCriuCheck(stored_key, &result)) {
    result = Run(path);
    StoreCriuCheck(stored_key, result);
  }
  std::lock_guard<std::mutex> lock(cache_mutex);
  Cache()[key] = result;
  return result;
}

}  // namespace crftb::cr
