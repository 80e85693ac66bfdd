// libcr's request model, engine-independent: resolve the scope, publish BEGIN, run the engine's
// request with a deadline this layer enforces (poll on the handle's fd), reap, publish END or
// ERROR, and move the images into place only on success. Blocking: runs on a worker thread.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "cr/engine.h"
#include "cr/event_publisher.h"

namespace crftb::cr {

struct CheckpointOptions {
  std::string engine = "auto";  // "auto" | "criu" | "blcr"
  EngineConfig criu;            // criu.service: the CRIU binary (criu_locator.h)
  EngineConfig blcr;
  Scope scope = Scope::kProcess;
  pid_t target = 0;             // 0 = this process (its group / session for those scopes)
  bool allow_own_group = false;
  std::string dir;              // images directory (CRIU) ...
  std::string file;             // ... or context file (BLCR)
  After after = After::kLeaveRunning;
  int timeout_ms = 0;           // 0 = no deadline
  bool incremental = false;
  FtbSettings ftb;
};

struct CheckpointResult {
  bool restarted = false;       // this process is the copy restored from this checkpoint
  std::string engine;
  std::string path;             // where the images are (dir / file as given)
  std::string generation;       // the directory or file actually written
  std::vector<std::string> images;
  unsigned long long bytes = 0;
  std::vector<pid_t> pids;
  bool incremental = false;     // written relative to a parent checkpoint
  double seconds = 0;           // engine request to reap
};

struct RestartOptions {
  std::string engine = "auto";
  EngineConfig criu;
  EngineConfig blcr;
  std::string dir;
  std::string file;
  int timeout_ms = 0;
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
