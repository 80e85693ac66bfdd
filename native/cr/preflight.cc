#include "cr/preflight.h"

#include <dirent.h>
#include <errno.h>
#include <unistd.h>

#include <sstream>
#include <string>

#include "common/read_file.h"

namespace crftb::cr {

namespace {

bool HasIoUring(pid_t pid) {
  const std::string base = "/proc/" + std::to_string(pid);
  if (DIR* fds = opendir((base + "/fd").c_str())) {
    bool found = false;
    while (dirent* entry = readdir(fds)) {
      if (entry->d_name[0] == '.') continue;
      char link[256];
      ssize_t n = readlink((base + "/fd/" + entry->d_name).c_str(), link, sizeof link - 1);
      if (n > 0 && std::string(link, n).find("io_uring") != std::string::npos) {
        found = true;
        break;
      }
    }
    closedir(fds);
    if (found) return true;
  }
  std::string text, line;
  ReadWholeFile(base + "/maps", &text);
  std::istringstream maps(text);
  while (std::getline(maps, line))
    if (line.find("io_uring") != std::string::npos) return true;
  return false;
}

}  // namespace

Failure CheckNoIoUring(const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    if (HasIoUring(pid))
      return Failure::System(EOPNOTSUPP, "process " + std::to_string(pid) +
                                             " uses io_uring (anon_inode:[io_uring]), which CRIU cannot "
                                             "checkpoint; start it with UV_USE_IO_URING=0");
  }
  return Failure::None();
}

}  // namespace crftb::cr
