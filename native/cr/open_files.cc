#include "cr/open_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/read_file.h"

namespace crftb::cr {

namespace {

// The open flags of /proc/<pid>/fdinfo/<fd> ("flags:\t0100001"), or -1.
long FdFlags(const std::string& fdinfo) {
  std::string text;
  if (!ReadWholeFile(fdinfo, &text, 4096)) return -1;
  size_t at = text.find("flags:");
  if (at == std::string::npos) return -1;
  return strtol(text.c_str() + at + 6, nullptr, 8);
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<OpenFile> FilesThatMustNotChange(const std::vector<pid_t>& pids, const std::string& ignore_below) {
  std::vector<OpenFile> out;
  for (pid_t pid : pids) {
    const std::string proc = "/proc/" + std::to_string(pid);
    DIR* fds = opendir((proc + "/fd").c_str());
    if (!fds) continue;
    while (dirent* entry = readdir(fds)) {
      if (entry->d_name[0] == '.') continue;
      const std::string link = proc + "/fd/" + entry->d_name;
      struct stat st;
      if (stat(link.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      char target[PATH_MAX];
      ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
      if (n <= 0) continue;
      std::string path(target, static_cast<size_t>(n));
      // A deleted file's contents go into the images; a file below the images is crftb's own.
      if (EndsWith(path, " (deleted)") ||
          (!ignore_below.empty() && path.compare(0, ignore_below.size(), ignore_below) == 0))
        continue;
      const long flags = FdFlags(proc + "/fdinfo/" + entry->d_name);
      if (flags >= 0 && (flags & O_ACCMODE) == O_WRONLY && (flags & O_APPEND)) continue;
      out.push_back({pid, atoi(entry->d_name), path});
    }
    closedir(fds);
  }
  return out;
}

}  // namespace crftb::cr
