// The checkpoint engine interface: what the libcr request model (native/cr/request.h) needs from
// an engine, and nothing more. Two engines implement it:
//   - CRIU (native/cr/criu/), through libcriu.so.2 loaded with dlopen;
//   - BLCR (native/cr/blcr/), through libcr.so.0 loaded with dlopen.
//
// The model is libcr's: a request returns a handle at once; the handle's fd becomes readable
// (POLLIN) when the operation has finished; Reap() then collects the outcome exactly once. The
// caller (request.cc, on a worker thread) enforces the deadline by polling that fd: neither
// engine has a timeout or a cancel of its own (LIBCR-FACTS §6.5), so a request that misses its
// deadline is abandoned, never interrupted, and its handle must stay safe to destroy while the
// engine is still working (an engine thread owns what it needs through shared state).
//
// Events are not the engines' business: request.cc publishes CHKPT_* / RSTRT_* around Start()
// and Reap(), closes the FTB connection before Start() of a checkpoint that includes this
// process and reopens it after. An engine only says, through Capabilities::publishes_ftb, that
// it already publishes them itself (a libcr built with FTB exports cri_ftb_init).
//
// Threading: every method may block (dlopen, kernel requests, a CRIU service round trip) and is
// only ever called from a worker thread, never the JS thread. One Engine object serves one
// request at a time; engines are cheap to construct (they load their library lazily in Probe).
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/failure.h"

namespace crftb::cr {

// libcr's scopes, with libcr's numbering (CR_SCOPE_*).
enum class Scope : int { kProcess = 0, kProcessGroup = 1, kSession = 2, kTree = 3 };

// What to do with the checkpointed processes afterwards (libcr's cr_signal, CRIU's
// leave-running): keep running, stop (SIGSTOP) or kill (SIGKILL). A self-checkpoint that stops
// or kills itself never sees its own result.
enum class After : int { kLeaveRunning = 0, kStop = 1, kKill = 2 };

struct Capabilities {
  std::string engine;             // "criu" | "blcr"
  std::string version;            // engine version as the engine reports it ("4.1.1", "0.8.5")
  std::string library;            // the dlopen'ed library file
  bool self_checkpoint = false;   // can checkpoint the calling process and be restarted from it
  bool incremental = false;       // can write images relative to a parent checkpoint
  bool directory_images = false;  // writes a directory of images (CRIU) vs one context file (BLCR)
  bool publishes_ftb = false;     // the engine's library publishes CHKPT_*/RSTRT_* itself
  bool gated_resume = false;      // a restore asks RestartSpec::may_resume before the processes run
};

struct EngineConfig {
  std::string library;  // "" = the engine's default soname (libcriu.so.2 / libcr.so.0)
  std::string service;  // CRIU only: the criu binary (native/cr/criu_locator.h finds it)
  // CRIU only, when `service` was not named: find it on the request's thread (finding may run
  // `criu check`, which blocks), starting from the package's own provisioned copy.
  bool locate = false;
  std::string package_root;
};

// What the engine does with what a process holds beyond its memory (CRIU's options; BLCR has
// none of them and ignores this). One family for checkpoint and restart: a restart uses what the
// checkpoint recorded (images.h GenerationRecord) unless told otherwise.
enum class Connections : int {
  kClose = 0,  // established TCP connections are dumped as closed and restored closed: peers see
               // a reset and reconnect (what a Node service with keep-alive clients needs)
  kKeep = 1,   // dumped and restored established (CRIU's tcp-established, behind a network lock)
  kFail = 2,   // a process holding one cannot be checkpointed (CRIU's default)
};
enum class NetworkLock : int { kAuto = 0, kIptables = 1, kNftables = 2 };

struct EngineTuning {
  Connections connections = Connections::kClose;
  bool skip_in_flight = true;                     // connections not yet accept()ed are left out (peers retry)
  NetworkLock network_lock = NetworkLock::kAuto;  // kKeep only; auto: iptables if installed, else nftables
  unsigned ghost_limit = 0;                       // bytes of unlinked-but-open file CRIU may copy; 0 = its default
  bool ext_unix_sockets = false;                  // unix sockets connected to processes outside the dump
  bool shell_job = false;                         // the processes belong to a terminal session (no setsid)
};

struct CheckpointSpec {
  Scope scope = Scope::kProcess;
  pid_t target = 0;            // resolved pid/pgid/sid: never 0 here (request.cc resolves "self")
  bool includes_self = false;  // this process is inside the scope (the restarted copy returns)
  std::string destination;     // CRIU: an empty directory created 0700; BLCR: a new file (0600)
  After after = After::kLeaveRunning;
  // Sent SIGSTOP once the images are written and before the engine lets them run again (CRIU's
  // post-dump notification), so they stop without running past their images; "" = none.
  std::vector<pid_t> stop_after_dump;
  // The request's end of its halt guardian's socket (halt_guardian.h), or -1: a helper process the
  // engine starts for the dump holds a copy until it ends, so that the guardian, which lets the
  // processes continue once the requester is gone, does not act while that helper still works.
  int hold_fd = -1;
  std::string parent;         // incremental: path of the parent images, relative to destination
  bool track_memory = false;  // keep dirty-page tracking on so a later child can be incremental
  std::string log_file;       // engine log, relative to the destination directory ("" = none)
  EngineTuning tuning;
};

struct CheckpointOutcome {
  bool restarted = false;      // this process is the copy restored from these images
  std::vector<pid_t> pids;     // processes included, when the engine can tell
  double frozen_seconds = -1;  // how long the processes were frozen; -1 when the engine cannot tell
};

struct RestartSpec {
  std::string source;                  // images directory (CRIU) or context file (BLCR)
  std::string log_file;                // relative to the images directory for CRIU ("" = none)
  After after = After::kLeaveRunning;  // kStop leaves the restored processes stopped
  EngineTuning tuning;
  pid_t root = 0;  // the root pid the images restore, when crftb recorded it (0: unknown)
  // Asked (engines with Capabilities::gated_resume) once everything is restored and before any
  // restored process runs; false makes the engine kill what it restored and fail the restore.
  // The restart verifies the images meanwhile (images.h CheckRestorable).
  std::function<bool()> may_resume;
};

struct RestartOutcome {
  pid_t pid = 0;            // the restored root process (0 when the engine cannot say)
  std::vector<pid_t> pids;  // every restored process, when the engine can tell
  bool children = false;    // the restored root is this process's child: reap it
};

// One outstanding request: libcr's checkpoint/restart handle.
class Pending {
 public:
  virtual ~Pending() = default;
  // Becomes readable (POLLIN) when the operation has finished. Owned by the Pending object.
  virtual int ready_fd() const = 0;
};

class PendingCheckpoint : public Pending {
 public:
  // Call once, only after ready_fd() is readable.
  virtual Failure Reap(CheckpointOutcome* out) = 0;
};

class PendingRestart : public Pending {
 public:
  virtual Failure Reap(RestartOutcome* out) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual const char* name() const = 0;
  // Loads the library and asks the kernel side whether it answers. Failure codes: ENOSYS when
  // the engine cannot work here (message says what to install), ELIBBAD for a wrong library.
  virtual Failure Probe(Capabilities* out) = 0;
  // Issues the request (like cr_request_checkpoint): returns quickly with a handle, or fails
  // with the request-time errno (ESRCH, EPERM, EINVAL, ...). Probe() has succeeded before.
  virtual Failure StartCheckpoint(const CheckpointSpec& spec, std::unique_ptr<PendingCheckpoint>* out) = 0;
  virtual Failure StartRestart(const RestartSpec& spec, std::unique_ptr<PendingRestart>* out) = 0;
};

// The engine named "criu" or "blcr" (nullptr for any other name).
std::unique_ptr<Engine> MakeEngine(const std::string& name, const EngineConfig& config);

}  // namespace crftb::cr
