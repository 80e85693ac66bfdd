#include "cr/criu/dump_failure.h"

#include <errno.h>
#include <sys/statvfs.h>

#include "common/read_file.h"

namespace crftb::cr::criu {

namespace {

// A file system this close to full cannot have taken CRIU's next write (it writes pages in
// chunks of up to a few MiB).
constexpr unsigned long long kNearlyFull = 4ull << 20;

bool Gone(pid_t pid) {
  std::string line;
  if (!ReadWholeFile("/proc/" + std::to_string(pid) + "/stat", &line) || line.empty()) return true;
  size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

}  // namespace

Failure ExplainDumpFailure(const Failure& reported, pid_t target, const std::string& destination) {
  if (target > 0 && Gone(target))
    return Failure::Coded("ESRCH", "pid " + std::to_string(target) + " exited while it was being checkpointed (" +
                                       reported.message + "); the previous checkpoint is kept", ESRCH);
  if (reported.code == "ECOMM")
    return Failure::Coded("ECOMM", reported.message + " (the CRIU service exited before it answered: killed or "
                                   "crashed); the previous checkpoint is kept", ECOMM);
  struct statvfs fs;
  if (statvfs(destination.c_str(), &fs) == 0) {
    unsigned long long left = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
    if (left < kNearlyFull || (fs.f_files > 0 && fs.f_favail == 0))
      return Failure::Coded("ENOSPC", "no space left for the images in " + destination + " (" + std::to_string(left / 1024) +
                                          " KiB free; " + reported.message + "); free some space or checkpoint "
                                          "elsewhere; the previous checkpoint is kept", ENOSPC);
  }
  return reported;
}

}  // namespace crftb::cr::criu
