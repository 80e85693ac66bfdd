// Why a CRIU restore failed, in errno terms a program can act on. libcriu reports nearly every
// failed restore as EBADE; CRIU's log says what stood in the way, and two causes are common and
// transient or fixable by the caller: a port the restored processes listened on (or connected
// from) is taken by another process (EADDRINUSE), or a pid they need is in use (EEXIST).
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr::criu {

// `reported`: the failure as libcriu gave it (its message already quotes CRIU's reasons).
// `log`: CRIU's restore log.
Failure ExplainRestoreFailure(const Failure& reported, const std::string& log);

}  // namespace crftb::cr::criu
