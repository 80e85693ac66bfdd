#include "cr/criu/dump_failure.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include <sstream>

#include "common/read_file.h"
#include "cr/criu/log_lines.h"

namespace crftb::cr::criu {

namespace {

// A file system this close to full cannot have taken CRIU's next write (it writes pages in
// chunks of up to a few MiB).
constexpr unsigned long long kNearlyFull = 4ull << 20;

constexpr unsigned long kPfExiting = 0x4;  // the kernel's PF_EXITING task flag
constexpr unsigned long long kSigKill = 1ull << (9 - 1);

// Exited, or on its way out: a SIGKILLed process with a large address space is still tearing it
// down (neither gone nor a zombie yet) when CRIU has already given up on it.
bool Gone(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid);
  std::string line;
  if (!ReadWholeFile(proc + "/stat", &line) || line.empty()) return true;
  size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 >= line.size()) return false;
  std::istringstream fields(line.substr(close + 2));
  std::string state, skip;
  unsigned long flags = 0;
  fields >> state >> skip >> skip >> skip >> skip >> skip >> flags;  // fields 3..9 of proc(5)
  if (state == "Z" || state == "X" || (flags & kPfExiting)) return true;
  std::string status;
  if (!ReadWholeFile(proc + "/status", &status)) return true;
  for (const char* key : {"\nSigPnd:", "\nShdPnd:"}) {
    size_t at = status.find(key);
    if (at != std::string::npos && (strtoull(status.c_str() + at + strlen(key), nullptr, 16) & kSigKill)) return true;
  }
  return false;
}

// CRIU's refusals of a state that passes by itself.
constexpr const char* kTransient[] = {
    "In-flight connection",                    // a connection being accepted (skipInFlight: false)
    "Task pid reused while suspending",        // a process of the tree exited and its pid was reused
    "Zombies with threads are not supported",  // a process of the tree was exiting
    "Unseizable non-zombie",                   // likewise, caught between exit and zombie
};

}  // namespace

Failure ExplainDumpFailure(const Failure& reported, pid_t target, const std::string& destination,
                           const std::string& log) {
  if (target > 0 && Gone(target))
    return Failure::System(ESRCH, "pid " + std::to_string(target) + " exited while it was being checkpointed (" +
                                      reported.message + "); the previous checkpoint is kept");
  if (reported.Is(EBADE)) {
    const std::string text = ReadLog(log);
    for (const char* needle : kTransient)
      if (std::string line = LogLineWith(text, needle); !line.empty())
        return Failure::System(EAGAIN, "CRIU met a state that passes by itself (" + line +
                                           "): retry the checkpoint "
                                           "(option retry); the previous checkpoint is kept; CRIU's log is " +
                                           log);
  }
  if (reported.Is(ECOMM))
    return Failure::System(ECOMM, reported.message +
                                      " (the CRIU service exited before it answered: killed or "
                                      "crashed); the previous checkpoint is kept");
  struct statvfs fs;
  if (statvfs(destination.c_str(), &fs) == 0) {
    unsigned long long left = static_cast<unsigned long long>(fs.f_bavail) * fs.f_frsize;
    if (left < kNearlyFull || (fs.f_files > 0 && fs.f_favail == 0))
      return Failure::System(ENOSPC, "no space left for the images in " + destination + " (" +
                                         std::to_string(left / 1024) + " KiB free; " + reported.message +
                                         "); free some space or checkpoint "
                                         "elsewhere; the previous checkpoint is kept");
  }
  return reported;
}

}  // namespace crftb::cr::criu
