// Whether a CRIU binary passes `criu check` on this machine, asked once per binary per process.
// A CRIU that runs but fails its check (Debian 12's 3.17 on kernel 6.x: "Unexpected rt vDSO
// area bounds") would fail every dump, so the locator (criu_locator.h) skips such a CRIU when it
// has another to choose from, and probeEngine() reports the result.
//
// Threading: any thread. The first call for a binary runs `criu check` (about 0.1-0.5 s) and
// blocks; later calls for the same file (path, inode, size and mtime unchanged) are answered
// from the cache.
#pragma once

#include <string>

namespace crftb::cr {

struct CriuCheckResult {
  bool passed = false;
  std::string output;  // the last lines CRIU printed (stdout and stderr), for the user
};

CriuCheckResult CheckCriu(const std::string& path);

}  // namespace crftb::cr
