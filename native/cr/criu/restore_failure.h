// Why a CRIU restore failed, in errno terms a program can act on. libcriu reports nearly every
// failed restore as EBADE; CRIU's log says what stood in the way. A port the restored processes
// listened on (or connected from) taken by another process is EADDRINUSE; a pid they need held by
// a running process is EEXIST; a pid that was held only by a process on its way out (now gone, or
// a zombie its parent is about to reap) is EAGAIN: the same restart may succeed when retried.
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr::criu {

// `reported`: the failure as libcriu gave it (its message already quotes CRIU's reasons).
// `log`: CRIU's restore log.
Failure ExplainRestoreFailure(const Failure& reported, const std::string& log);

}  // namespace crftb::cr::criu
