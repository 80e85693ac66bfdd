// libcr's request model, engine-independent: resolve the scope, publish BEGIN, run the engine's
// request with a deadline and a cancel this layer enforces (interrupt.h), reap, publish END or
// ERROR, and move the images into place only on success. Blocking: runs on a worker thread.
//
// Cancellation never loses a process: the engine always dumps leave-running; crftb stops or
// kills the processes itself, after their images are committed, and only if the request was not
// interrupted by then. An interrupted request leaves the processes running; its unfinished
// images are removed once the engine is done (abandoned.h), or, when the interrupt came after
// they were complete, they are committed and the error says so (CheckpointResult::committed).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/failure.h"
#include "cr/engine.h"
#include "cr/event_publisher.h"
#include "cr/interrupt.h"
#include "cr/open_files.h"

namespace crftb::cr {

struct CheckpointOptions {
  std::string engine = "auto";  // "auto" | "criu" | "blcr"
  EngineConfig criu;            // criu.service: the CRIU binary (criu_locator.h)
  EngineConfig blcr;
  Scope scope = Scope::kProcess;
  pid_t target = 0;  // 0 = this process (its group / session for those scopes)
  bool allow_own_group = false;
  std::string dir;   // images directory (CRIU) ...
  std::string file;  // ... or context file (BLCR)
  After after = After::kLeaveRunning;
  int timeout_ms = 0;                    // 0 = no deadline
  int elapsed_ms = 0;                    // of timeout_ms, used before the request (callbacks, earlier attempts)
  std::shared_ptr<CancelSignal> cancel;  // null = cannot be cancelled
  bool incremental = false;
  EngineTuning tuning;
  FtbSettings ftb;
};

struct CheckpointResult {
  bool restarted = false;  // this process is the copy restored from this checkpoint
  std::string engine;
  std::string path;        // where the images are (dir / file as given)
  std::string generation;  // the directory or file actually written
  std::vector<std::string> images;
  unsigned long long bytes = 0;
  std::vector<pid_t> pids;
  bool incremental = false;               // written relative to a parent checkpoint
  double seconds = 0;                     // engine request to reap
  bool committed = false;                 // set on an interrupted request whose images were committed anyway
  double frozen_seconds = -1;             // how long the processes were frozen (-1: the engine cannot tell)
  std::vector<OpenFile> must_not_change;  // open files whose later change breaks the restore
};

struct RestartOptions {
  std::string engine = "auto";
  EngineConfig criu;
  EngineConfig blcr;
  std::string dir;
  std::string file;
  int timeout_ms = 0;
  int elapsed_ms = 0;  // of timeout_ms, used before this request (earlier attempts)
  std::shared_ptr<CancelSignal> cancel;
  // EngineTuning for the restore; -1 = as the checkpoint recorded (else CRIU's defaults).
  int connections = -1;
  int network_lock = -1;
  int ext_unix_sockets = -1;
  int shell_job = -1;
  // How long to wait for the recorded pids' zombies to be reaped before failing EAGAIN (a zombie passes by itself:
  // retryable).
  int reap_wait_ms = 5000;
  FtbSettings ftb;
};

struct RestartResult {
  std::string engine;
  pid_t pid = 0;
  std::vector<pid_t> pids;
  bool children = false;  // `pid` is this process's child: someone must wait for it
  double seconds = 0;
};

Failure RunCheckpoint(const CheckpointOptions& options, CheckpointResult* result);
Failure RunRestart(const RestartOptions& options, RestartResult* result);

// Engine selection: "auto" picks BLCR when its kernel interface answers, else CRIU, else ENOSYS
// saying what to install.
Failure SelectEngine(const std::string& name, const EngineConfig& criu, const EngineConfig& blcr,
                     std::unique_ptr<Engine>* engine, Capabilities* caps);

}  // namespace crftb::cr
