// Whether a CRIU binary passes `criu check` on this machine, asked once per binary per process.
// A CRIU that runs but fails its check (Debian 12's 3.17 on kernel 6.x: "Unexpected rt vDSO
// area bounds") would fail every dump, so the locator (criu_locator.h) skips such a CRIU when it
// has another to choose from, and probeEngine() reports the result.
//
// Threading: any thread. The first call for a binary in a process asks the cache that processes
// share (criu_check_cache.h), else runs `criu check` (about 0.1-0.5 s) and blocks; later calls
// for the same file (path, inode, size and mtime unchanged) are answered from memory.
#pragma once

#include <string>

namespace crftb::cr {

struct CriuCheckResult {
  bool passed = false;
  std::string output;  // the last lines CRIU printed (stdout and stderr), for the user
  // CRIU ran its check to the end (not: could not be started, or out of time on a busy machine);
  // only such an answer is kept for other processes.
  bool definite = true;
};

CriuCheckResult CheckCriu(const std::string& path);

}  // namespace crftb::cr
