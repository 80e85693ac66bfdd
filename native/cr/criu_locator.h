// Where the CRIU binary comes from. This is the one place that rule lives; TypeScript asks
// through the binding (`cr.locateCriu`) instead of repeating it.
//
// Order: an explicit path from the caller, then $CRFTB_CRIU, then the wrapper that
// scripts/provision-criu.sh writes at <packageRoot>/.cache/criu/bin/criu, then `criu` on $PATH.
// An explicit path or $CRFTB_CRIU that is not an executable file is an error (the user asked
// for that one), not a reason to fall through to the next candidate.
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr {

struct CriuLocation {
  std::string path;    // absolute path of the executable
  std::string source;  // "option" | "env" | "provisioned" | "path"
};

// Fills `out` and returns Failure::None(), or returns ENOENT/EACCES with what to do.
Failure LocateCriu(const std::string& explicit_path, const std::string& package_root,
                   CriuLocation* out);

}  // namespace crftb::cr
