// Checks done before an engine is asked to checkpoint a process.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/failure.h"

namespace crftb::cr {

// CRIU cannot dump io_uring (anchors REPORT §0.3): fails with EOPNOTSUPP when any process holds an
// io_uring fd (anon_inode:[io_uring] in /proc/<pid>/fd) or mapping (/proc/<pid>/maps).
Failure CheckNoIoUring(const std::vector<pid_t>& pids);

}  // namespace crftb::cr
