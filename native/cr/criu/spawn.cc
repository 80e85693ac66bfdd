#include "cr/criu/spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.h"

namespace crftb::cr::criu {

namespace {

// In the background of a non-interactive shell the program also gets stdin on /dev/null and
// SIGINT/SIGQUIT ignored: nothing it needs, in a session without a terminal.
constexpr const char* kDetach = "cd / || exit 127\n\"$@\" &\n";

// Descriptors this process inherited without close-on-exec (its own are all close-on-exec), which
// nothing of ours may carry into a long-lived program.
std::vector<int> InheritableDescriptors() {
  std::vector<int> fds;
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return fds;
  while (struct dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd < 3 || fd == dirfd(dir)) continue;
    int flags = fcntl(static_cast<int>(fd), F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC)) fds.push_back(static_cast<int>(fd));
  }
  closedir(dir);
  return fds;
}

// A posix_spawn object, initialised and destroyed with its scope.
template <typename T, int (*Init)(T*), int (*Destroy)(T*)>
class Scoped {
 public:
  Scoped() { Init(&value_); }
  ~Scoped() { Destroy(&value_); }
  Scoped(const Scoped&) = delete;
  Scoped& operator=(const Scoped&) = delete;
  T* get() { return &value_; }

 private:
  T value_;
};
using Actions = Scoped<posix_spawn_file_actions_t, posix_spawn_file_actions_init, posix_spawn_file_actions_destroy>;
using Attributes = Scoped<posix_spawnattr_t, posix_spawnattr_init, posix_spawnattr_destroy>;

}  // namespace

Failure Spawn(const std::vector<std::string>& argv, char* const envp[], const SpawnOptions& options, pid_t* child) {
  *child = 0;
  Actions actions;
  int err = 0;
  if (options.close_inherited)
    for (int fd : InheritableDescriptors())
      if (err == 0) err = posix_spawn_file_actions_addclose(actions.get(), fd);
  if (options.null_stdio || options.output_fd >= 0) {
    if (err == 0) err = posix_spawn_file_actions_addopen(actions.get(), 0, "/dev/null", O_RDONLY, 0);
    for (int fd : {1, 2}) {
      if (err != 0) break;
      err = options.output_fd >= 0 ? posix_spawn_file_actions_adddup2(actions.get(), options.output_fd, fd)
                                   : posix_spawn_file_actions_addopen(actions.get(), fd, "/dev/null", O_WRONLY, 0);
    }
  } else {
    // Node makes its own stdio close-on-exec: a program started from it would begin with 0-2
    // closed, and the first files it opens would take their numbers (CRIU's images directory
    // became its fd 1, and its messages went there). A stdio descriptor the child cannot
    // inherit is /dev/null in it.
    for (int fd : {0, 1, 2}) {
      const int flags = fcntl(fd, F_GETFD);
      if (err == 0 && (flags < 0 || (flags & FD_CLOEXEC)))
        err = posix_spawn_file_actions_addopen(actions.get(), fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
    }
  }
  // dup2 onto the same number does not clear close-on-exec before glibc 2.29: never ask for it;
  // and a source that is the other target would be overwritten by the first dup2. Such a source
  // is moved above both first.
  UniqueFd moved[2];
  const int sources[2] = {options.pass_fd, options.keep_fd};
  const int targets[2] = {kPassedFd, kKeptFd};
  for (int k = 0; k < 2; ++k) {
    int source = sources[k];
    if (source < 0) continue;
    if (source == kPassedFd || source == kKeptFd) {
      moved[k].reset(fcntl(source, F_DUPFD_CLOEXEC, kKeptFd + 1));
      if (!moved[k].valid()) return Failure::FromErrno(errno, "cannot pass a descriptor to " + argv[0]).At("fcntl");
      source = moved[k].get();
    }
    if (err == 0) err = posix_spawn_file_actions_adddup2(actions.get(), source, targets[k]);
  }
  if (err != 0) return Failure::FromErrno(err, "cannot prepare the start of " + argv[0]).At("posix_spawn");

  Attributes attributes;
  sigset_t none;
  sigemptyset(&none);
  short flags = POSIX_SPAWN_SETSIGMASK;
  if (options.detach) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setsigmask(attributes.get(), &none);
  posix_spawnattr_setflags(attributes.get(), flags);

  std::vector<std::string> words;
  if (options.detach) words = {"/bin/sh", "-c", kDetach, "crftb-detach"};
  words.insert(words.end(), argv.begin(), argv.end());
  std::vector<char*> pointers;
  for (std::string& word : words) pointers.push_back(word.data());
  pointers.push_back(nullptr);

  pid_t pid = 0;
  err = posix_spawn(&pid, pointers[0], actions.get(), attributes.get(), pointers.data(), envp);
  if (err != 0) return Failure::FromErrno(err, "cannot start " + words[0]).At("posix_spawn", words[0]);
  if (!options.detach) {
    *child = pid;
    return Failure::None();
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Failure::System(ECHILD, "the shell that starts " + argv[0] + " in the background failed");
  return Failure::None();
}

}  // namespace crftb::cr::criu
