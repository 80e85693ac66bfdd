// BLCR's request model driven to completion: request → handle → wait for the handle with a
// deadline this engine enforces (libcr has no timeout and no cancel, §6.5) → kernel log → reap.
// Every function here blocks (libcr requests can sleep, restarts fork), so callers run them on a
// worker thread, never on the JS thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "common/error.h"
#include "cr/blcr/abi.h"
#include "cr/blcr/library.h"

namespace crftb::cr::blcr {

struct ProbeResult {
  std::string library;  // the file that was loaded
  bool publishes_ftb = false;
  int client_id = -1;  // cr_init()'s answer in the probing thread
};

// Loads libcr and asks its kernel interface to answer (cr_init). ENOSYS when either is missing.
Failure Probe(const std::string& library_path, ProbeResult* result);

struct CheckpointRequest {
  std::string library_path;  // "" = libcr.so.0 from the normal library search path
  Scope scope = kScopeProc;
  pid_t target = 0;
  std::string path;          // context file to write (atomically: a temp file renamed on success)
  int signal = 0;            // signal for the targets after the checkpoint (negative = early)
  unsigned flags = 0;        // extra kChkpt* flags (ptrace handling, dump options)
  bool allow_self = false;   // permit a scope that contains this process, its group or session
  int timeout_ms = 0;         // deadline for the whole request; 0 = none
};

struct CheckpointResult {
  std::string path;
  std::string kernel_log;
  // This process is the restarted copy of a self-checkpoint (reap said CR_ERESTARTED): not a
  // failure, the checkpoint this request made is the one it was restarted from.
  bool restarted_copy = false;
};

Failure Checkpoint(const CheckpointRequest& request, CheckpointResult* result);

struct RestartRequest {
  std::string library_path;
  std::string path;  // context file to read
  int signal = 0;
  bool restore_pid = true;
  bool restore_pgid = false;
  bool restore_sid = false;
  std::vector<std::pair<std::string, std::string>> relocate;  // (old, new) absolute path prefixes
  int timeout_ms = 0;  // 0 = no deadline
};

struct RestartResult {
  // The first restored process that is a child of this process, 0 when none is (libcr cannot say
  // more). Restored processes are this process's children: the caller must wait for them.
  pid_t pid = 0;
  std::string kernel_log;
};

Failure Restart(const RestartRequest& request, RestartResult* result);

// Refuses a checkpoint scope that would include this process, its process group or session
// (or, for a tree, one of its ancestors) unless allow_self. Exposed for the engine selection.
Failure RefuseOwnScope(Scope scope, pid_t target, bool allow_self);

}  // namespace crftb::cr::blcr
