// Why a CRIU dump failed, in errno terms a user can act on. libcriu reports nearly every failed
// dump as EBADE ("the service said no", its cr_errno is rarely set) and a service that vanished
// as ECOMM; the causes behind them are read from the system here, while the partial images are
// still on disk: the target exited meanwhile (ESRCH), the images' file system filled up (ENOSPC),
// or CRIU met a state that passes by itself (EAGAIN: a connection being accepted, a process of
// the tree exiting while it was seized), so the same checkpoint may succeed when retried.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/failure.h"

namespace crftb::cr::criu {

// `reported`: the failure as libcriu gave it. `target`: the dumped pid (0 for a self-dump).
// `destination`: the generation directory being written. `log`: CRIU's dump log ("" = none).
Failure ExplainDumpFailure(const Failure& reported, pid_t target, const std::string& destination,
                           const std::string& log);

}  // namespace crftb::cr::criu
