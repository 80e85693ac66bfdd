// Which processes a checkpoint request reaches, read from /proc, and the safety rule that a
// request may not reach its caller's own process group or session unless told so explicitly.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/failure.h"
#include "cr/engine.h"

namespace crftb::cr {

struct ResolvedScope {
  pid_t root = 0;           // the process CRIU dumps the tree of (pid, group or session leader)
  std::vector<pid_t> pids;  // every process in scope, root first
  bool includes_self = false;
};

// Resolves libcr's (scope, target) pair; target 0 means "self" as in libcr. ESRCH when the target
// does not exist; EINVAL when a group/session has members outside its leader's tree (CRIU dumps
// trees); EDEADLK when the scope reaches this process's group or session (or, for a tree, one of
// this process's ancestors) and allow_own_group is false.
Failure ResolveScope(Scope scope, pid_t target, bool allow_own_group, ResolvedScope* out);

// The process tree rooted at `root` (root first), read from /proc.
std::vector<pid_t> ProcessTree(pid_t root);

// `pid` exists and has not exited (a zombie has).
bool ProcessRunning(pid_t pid);

// When a running `pid` started (/proc/<pid>/stat field 22), "" when it is gone or a zombie:
// with the pid, it names one process even across pid reuse.
std::string ProcessStartTime(pid_t pid);

}  // namespace crftb::cr
