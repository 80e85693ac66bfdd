#include "cr/criu/restore_failure.h"

#include <errno.h>

#include "common/read_file.h"

namespace crftb::cr::criu {

namespace {

// The log line that contains `needle`, without its timestamp prefix; "" when none does.
std::string LineWith(const std::string& log, const char* needle) {
  size_t at = log.find(needle);
  if (at == std::string::npos) return "";
  size_t begin = log.rfind('\n', at);
  begin = begin == std::string::npos ? 0 : begin + 1;
  size_t end = log.find('\n', at);
  std::string line = log.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  size_t error = line.find("Error (");
  return error == std::string::npos ? line : line.substr(error);
}

}  // namespace

Failure ExplainRestoreFailure(const Failure& reported, const std::string& log) {
  if (reported.code != "EBADE" || log.empty()) return reported;
  std::string text;
  if (!ReadWholeFile(log, &text, 16u << 20)) return reported;
  if (std::string line = LineWith(text, "Address already in use"); !line.empty())
    return Failure::Coded("EADDRINUSE", "the restore needs a port that another process holds now (" + line +
                                            "); stop that process or restart where the port is free; CRIU's log is " + log,
                          EADDRINUSE);
  for (const char* needle : {"Pid mismatch", "do not match expected", "Can't fork for"})
    if (std::string line = LineWith(text, needle); !line.empty())
      return Failure::Coded("EEXIST", "the restore needs a pid that is in use (" + line +
                                          "); wait for that process to end, or restart elsewhere; CRIU's log is " + log,
                            EEXIST);
  return reported;
}

}  // namespace crftb::cr::criu
