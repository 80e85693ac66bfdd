#include "cr/criu/restore_failure.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cr/criu/log_lines.h"
#include "cr/scope.h"

namespace crftb::cr::criu {

namespace {

// CRIU's lines for a pid it could not take, the first two followed by that pid.
constexpr const char* kPidTaken[] = {"Can't fork for ", "do not match expected ", "Pid mismatch"};

pid_t PidAfter(const std::string& line, const char* prefix) {
  size_t at = line.find(prefix);
  return at == std::string::npos ? 0 : static_cast<pid_t>(strtol(line.c_str() + at + strlen(prefix), nullptr, 10));
}

}  // namespace

Failure ExplainRestoreFailure(const Failure& reported, const std::string& log) {
  if (!reported.Is(EBADE)) return reported;
  const std::string text = ReadLog(log);
  if (text.empty()) return reported;
  if (std::string line = LogLineWith(text, "Address already in use"); !line.empty())
    return Failure::System(EADDRINUSE, "the restore needs a port that another process holds now (" + line +
                                           "); stop that process or restart where the port is free; CRIU's log is " +
                                           log);
  for (const char* needle : kPidTaken) {
    std::string line = LogLineWith(text, needle);
    if (line.empty()) continue;
    const pid_t pid = PidAfter(line, needle);
    if (pid > 0 && !ProcessRunning(pid))
      return Failure::System(EAGAIN, "the restore needed pid " + std::to_string(pid) +
                                         " while a process that has "
                                         "exited still held it (" +
                                         line +
                                         "); it is free now or about to be reaped: "
                                         "retry the restart (option retry); CRIU's log is " +
                                         log);
    return Failure::System(EEXIST, "the restore needs a pid that is in use (" + line +
                                       "); wait for that process to end, or restart elsewhere; CRIU's log is " + log);
  }
  return reported;
}

}  // namespace crftb::cr::criu
