// Where the CRIU binary comes from. This is the one place that rule lives; TypeScript asks
// through the binding (`cr.locateCriu`, `cr.criuCacheDir`) instead of repeating it.
//
// Order: an explicit path from the caller, then $CRFTB_CRIU; an explicit path or $CRFTB_CRIU
// that is not an executable file is an error (the user asked for that one), not a reason to fall
// through. Otherwise crftb chooses among, in this order: the wrapper scripts/provision-criu.sh
// writes in a clone (<packageRoot>/.cache/criu/bin/criu), the one `crftb provision-criu` writes
// in the stable cache (CriuCacheDir()/bin/criu, which survives reinstalls of the package), and
// `criu` on $PATH — the first that passes `criu check` (criu_check.h), else the first found, so
// the user sees that CRIU's own error.
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr {

// What to run for a working CRIU, worded to work from an app (npx) and from a clone.
inline constexpr char kProvisionCriuHint[] =
    "as root run 'npx crftb provision-criu' (in a clone: 'node bin/crftb.js provision-criu')";

struct CriuLocation {
  std::string path;    // absolute path of the executable
  std::string source;  // "option" | "env" | "provisioned" | "cache" | "path"
};

// Fills `out` and returns Failure::None(), or returns ENOENT/EACCES with what to do. May run
// `criu check` (blocking, once per binary per process) when it has several CRIUs to choose from.
Failure LocateCriu(const std::string& explicit_path, const std::string& package_root, CriuLocation* out);

// Where `crftb provision-criu` installs CRIU and the locator looks for it: $CRFTB_CRIU_CACHE,
// else /var/cache/crftb/criu for root, else $XDG_CACHE_HOME/crftb/criu, else
// ~/.cache/crftb/criu. "" when none can be named (no HOME).
std::string CriuCacheDir();

}  // namespace crftb::cr
