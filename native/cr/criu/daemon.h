// The long-lived CRIU service (`criu service --address`) that serves this process's
// self-checkpoints. A per-request `criu swrk` costs a double fork of the whole (large) Node process
// plus loading and initialising criu on every checkpoint; the daemon is started once, right after
// the process's first self-checkpoint (which still uses its own service), and CRIU forks an
// already initialised worker of itself for each connection. CRIU refuses to serve more
// than one dump on a `swrk` connection (keep_open), hence a daemon rather than a kept connection.
//
// It runs outside this process's tree (double fork, own session: a self-dump covers the caller's
// whole subtree), with stdio on /dev/null and no descriptor of ours; its socket lives in a private
// 0700 directory. A small /bin/sh watchdog, its parent, stops it and removes the directory once
// this process is gone (exit, crash or SIGKILL: checked by pid and start time twice a second) or
// when the daemon itself dies. Dumps of other processes and restores keep their own `swrk` child.
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr::criu {

// A close-on-exec connection to this process's daemon for `binary` in *fd, waiting for it while
// it is still starting (up to `start_ms` after its start). ENOENT when this process has none (not
// started yet, or this is a copy restored from a checkpoint, whose daemon belonged to the
// original); ECOMM when it died or never came up. The caller then uses a per-request service.
Failure ConnectDaemon(const std::string& binary, int start_ms, int* fd);

// After a self-dump that had no daemon: starts one for the next, without waiting for it, so that
// its start-up (criu probing the kernel) never lies on a checkpoint's path. Not again for a minute after one that
// could not be started. Holds the same lock as ConnectDaemon, so no dump begins while the start's
// intermediate child still exists.
void StartDaemonIfNone(const std::string& binary);

}  // namespace crftb::cr::criu
