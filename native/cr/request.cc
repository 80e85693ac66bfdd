#include "cr/request.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cr/abandoned.h"
#include "cr/async_check.h"
#include "cr/criu_locator.h"
#include "cr/halt_guardian.h"
#include "cr/images.h"
#include "cr/preflight.h"
#include "cr/scope.h"

namespace crftb::cr {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Where a request's images are for this engine: dir (a directory of images, CRIU) or file (a
// context file, BLCR). EINVAL naming the option to pass when the request gave only the other.
Failure ImagesPath(const Capabilities& caps, const std::string& dir, const std::string& file, const char* verb,
                   std::string* path) {
  *path = caps.directory_images ? dir : file;
  if (!path->empty()) return Failure::None();
  return Failure::System(
      EINVAL, "the " + caps.engine + " engine " + verb +
                  (caps.directory_images ? " a directory of images: pass dir" : " a context file: pass file"));
}

// The errno an ERROR event carries: an abort is ECANCELED.
int ErrnoOf(const Failure& failure) {
  if (failure.aborted()) return ECANCELED;
  return failure.errnum > 0 ? failure.errnum : EIO;
}

// How a request's one terminal event leaves: left to the engine's libcr, published after its
// BEGIN, or - when BEGIN did not go out - withheld and counted as dropped.
template <typename Publish>
void Conclude(EventPublisher& publisher, bool suppressed, bool begun, Publish publish) {
  if (suppressed)
    publisher.CountSuppressed();
  else if (begun)
    publish();
  else
    publisher.CountWithheld();
}

// Publishes BEGIN on construction, then exactly one END or ERROR - or, when BEGIN did not go out,
// none (the withheld END/ERROR is counted as dropped: every event of a request is either
// published or counted). The restarted copy publishes nothing. When the engine's libcr publishes
// the events itself, nothing is published here and its events are counted as suppressed.
class EventScope {
 public:
  EventScope(Operation op, const FtbSettings& settings, bool engine_publishes)
      : op_(op),
        publisher_(ProcessPublisher(settings)),
        enabled_(settings.enabled),
        suppressed_(settings.enabled && engine_publishes) {
    if (suppressed_)
      publisher_.CountSuppressed();
    else if (settings.enabled)
      begun_ = publisher_.Begin(op, &handle_);
  }
  Failure Fail(Failure failure) {
    Finish([&] { publisher_.Error(op_, handle_, ErrnoOf(failure)); });
    return failure;
  }
  void Succeed() {
    Finish([&] { publisher_.End(op_, handle_); });
  }
  void Silence() { finished_ = true; }
  EventPublisher& publisher() { return publisher_; }
  // Hands the terminal event to whoever finishes the request later (an abandoned self-dump).
  struct Handoff {
    Operation op;
    EventPublisher* publisher;
    bool owed;  // the terminal event is still to be published or counted
    bool suppressed;
    bool begun;
    ftb::wire::EventHandle handle;
  };
  Handoff Release() {
    Handoff out{op_, &publisher_, enabled_ && !finished_, suppressed_, begun_, handle_};
    finished_ = true;
    return out;
  }

 private:
  template <typename Publish>
  void Finish(Publish publish) {
    if (finished_) return;
    finished_ = true;
    if (enabled_) Conclude(publisher_, suppressed_, begun_, publish);
  }
  Operation op_;
  EventPublisher& publisher_;
  bool enabled_;
  bool suppressed_;
  ftb::wire::EventHandle handle_{};
  bool begun_ = false;
  bool finished_ = false;
};

// Whether `fd` turns readable within `timeout_ms` (-1: waits until it does).
bool ReadyWithin(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  while ((rc = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR) {
  }
  return rc > 0;
}

// The terminal event of a request abandoned while its engine worked, as EventScope::Fail would
// have sent it.
void FinishAbandoned(const EventScope::Handoff& events, int err) {
  if (!events.owed) return;
  Conclude(*events.publisher, events.suppressed, events.begun,
           [&] { events.publisher->Error(events.op, events.handle, err); });
}

// A checkpoint interrupted while the engine is still dumping: the engine cannot be stopped, so a
// thread waits for it and then removes what it wrote (the processes were dumped leave-running,
// so they run on untouched). For a self-dump the FTB connection stays closed until the engine is
// done (no socket may enter the image), then the original publishes the ERROR the request
// thread could not send; the copy restored from those images publishes nothing. The halt
// guardian stays until the SIGCONT is sent.
void FinishCheckpointLater(std::unique_ptr<PendingCheckpoint> pending, Generation generation, bool self,
                           std::vector<pid_t> stopped, HaltGuardian guardian, EventScope::Handoff events, int err) {
  auto finish = [pending = std::shared_ptr<PendingCheckpoint>(std::move(pending)),
                 generation = std::make_shared<Generation>(std::move(generation)), self, stopped,
                 guardian = std::make_shared<HaltGuardian>(std::move(guardian)), events, err] {
    ReadyWithin(pending->ready_fd(), -1);
    CheckpointOutcome outcome;
    const bool restarted = pending->Reap(&outcome).ok() && outcome.restarted;
    if (restarted) return;                         // the copy: its original cleans up
    for (pid_t pid : stopped) kill(pid, SIGCONT);  // the engine may have stopped them at its end
    guardian->Dismiss();
    Abandon(*generation);
    if (self) events.publisher->ReopenAfterCheckpoint();
    FinishAbandoned(events, err);
  };
  RunAbandoned(std::move(finish));
}

// Kills what a restore brought back (a restart that is refused or interrupted restores nothing,
// and a retry finds the pids free).
void KillRestored(const RestartOutcome& outcome) {
  if (outcome.pid <= 0) return;
  std::vector<pid_t> pids = outcome.pids.empty() ? ProcessTree(outcome.pid) : outcome.pids;
  for (pid_t pid : pids) kill(pid, SIGKILL);
  if (outcome.children) waitpid(outcome.pid, nullptr, 0);
}

// A restart interrupted while the engine is still restoring: once it is done, what it restored is
// killed.
void FinishRestartLater(std::unique_ptr<PendingRestart> pending) {
  RunAbandoned([pending = std::shared_ptr<PendingRestart>(std::move(pending))] {
    ReadyWithin(pending->ready_fd(), -1);
    RestartOutcome outcome;
    if (pending->Reap(&outcome).ok()) KillRestored(outcome);
  });
}

constexpr int kSelfDumpGraceMs = 250;

// Sends `sig` to every checkpointed process but this one.
void SignalOthers(const std::vector<pid_t>& pids, int sig) {
  for (pid_t pid : pids)
    if (pid != getpid()) kill(pid, sig);
}

// After SIGKILL: waits (bounded) until each pid is dead, so a restart right after can begin. A
// zombie counts as dead here; its parent, not crftb, reaps it.
void AwaitDeath(const std::vector<pid_t>& pids) {
  const auto give_up = Clock::now() + std::chrono::seconds(2);
  for (pid_t pid : pids) {
    if (pid == getpid()) continue;
    while (ProcessRunning(pid) && Clock::now() < give_up) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace

Failure SelectEngine(const std::string& name, const EngineConfig& criu_given, const EngineConfig& blcr,
                     std::unique_ptr<Engine>* engine, Capabilities* caps) {
  EngineConfig criu = criu_given;
  if (criu.locate && criu.service.empty() && name != "blcr") {
    CriuLocation location;
    if (LocateCriu("", criu.package_root, &location).ok())
      criu.service = location.path;  // else the probe says what to install
  }
  if (name == "criu" || name == "blcr") {
    auto candidate = MakeEngine(name, name == "criu" ? criu : blcr);
    if (!candidate) return Failure::System(ENOSYS, "the " + name + " engine is not part of this build of crftb");
    if (Failure f = candidate->Probe(caps); !f.ok()) return f;
    *engine = std::move(candidate);
    return Failure::None();
  }
  if (name != "auto") return Failure::System(EINVAL, "engine must be 'auto', 'criu' or 'blcr', not '" + name + "'");
  std::string reasons;
  for (const char* candidate_name : {"blcr", "criu"}) {
    auto candidate = MakeEngine(candidate_name, std::string(candidate_name) == "criu" ? criu : blcr);
    if (!candidate) continue;
    Failure f = candidate->Probe(caps);
    if (f.ok()) {
      *engine = std::move(candidate);
      return Failure::None();
    }
    reasons += std::string(reasons.empty() ? "" : "; ") + candidate_name + ": " + f.message;
  }
  return Failure::System(ENOSYS, "no checkpoint engine works on this machine (" + reasons + "). Install CRIU (" +
                                     std::string(kProvisionCriuHint) +
                                     ", or a criu that passes "
                                     "`criu check`, plus libcriu.so.2) or BLCR's kernel module and libcr.so.0");
}

namespace {

// What every request starts with: its deadline and cancel, the engine it runs on and the FTB
// events that report it (BEGIN now; a failure to select the engine is the request's ERROR).
// `run` does the rest of the request.
template <typename Options, typename Result>
Failure RunRequest(Operation op, const Options& options, Result* result,
                   Failure (*run)(const Options&, Result*, const Interrupt&, Engine&, const Capabilities&,
                                  EventScope&)) {
  const Interrupt interrupt(options.timeout_ms, options.elapsed_ms, options.cancel);
  std::unique_ptr<Engine> engine;
  Capabilities caps;
  Failure selected = SelectEngine(options.engine, options.criu, options.blcr, &engine, &caps);
  EventScope events(op, options.ftb, selected.ok() && caps.publishes_ftb);
  if (!selected.ok()) return events.Fail(selected);
  result->engine = caps.engine;
  return run(options, result, interrupt, *engine, caps, events);
}

// The checkpoint from its images' preparation on, for a resolved scope. `guardian`: the halt
// guardian of a request that stops or kills other processes (else none), which this hands to
// the engine and, when the request is interrupted, to the work that finishes it.
Failure DumpAndCommit(const CheckpointOptions& options, CheckpointResult* result, const Interrupt& interrupt,
                      Engine& engine, const Capabilities& caps, EventScope& events, const std::string& images_path,
                      const ResolvedScope& scope, HaltGuardian& guardian) {
  Generation generation;
  Failure prepared = caps.directory_images ? PrepareDirectory(images_path, options.incremental && caps.incremental,
                                                              scope.root, &generation)
                                           : PrepareFile(images_path, &generation);
  if (!prepared.ok()) return events.Fail(prepared);
  if (Failure f = interrupt.Check("checkpoint"); !f.ok()) {
    Abandon(generation);
    return events.Fail(f);
  }

  // The engine always leaves the processes running: a process is stopped or killed by crftb, and
  // only once its images are committed, so an interrupted or failed request never loses it.
  CheckpointSpec spec;
  spec.scope = options.scope;
  spec.target = scope.root;
  spec.includes_self = scope.includes_self;
  spec.destination = generation.path;
  spec.after = After::kLeaveRunning;
  // Not in a self-dump: the notification would reach a thread of this process, which the engine
  // keeps frozen until it is answered. There the others are stopped right after the dump.
  const bool halt = options.after != After::kLeaveRunning;
  if (halt && !scope.includes_self)
    for (pid_t pid : scope.pids) spec.stop_after_dump.push_back(pid);
  spec.hold_fd = guardian.hold_fd();
  spec.parent = generation.parent;
  spec.track_memory = options.incremental && caps.incremental;
  spec.log_file = caps.directory_images ? "dump.log" : "";
  spec.tuning = options.tuning;

  if (scope.includes_self) events.publisher().CloseForCheckpoint();
  const auto start = Clock::now();
  std::unique_ptr<PendingCheckpoint> pending;
  Failure failure = engine.StartCheckpoint(spec, &pending);
  if (failure.ok()) {
    failure = interrupt.Wait(pending->ready_fd(), "checkpoint");
    // A self-dump freezes this thread too, so the deadline can pass unseen while frozen, and in
    // the copy restored later the clock has jumped: wait a moment for the engine's answer before
    // abandoning, so neither abandons a dump that has already finished.
    if (IsInterruption(failure) && scope.includes_self && ReadyWithin(pending->ready_fd(), kSelfDumpGraceMs))
      failure = Failure::None();
    if (IsInterruption(failure)) {
      // The engine is still at work: nothing can stop it, so it finishes in the background and
      // its images are removed; the processes keep running.
      result->seconds = SecondsSince(start);
      failure.message +=
          "; the processes were left running, and what the unfinished dump writes is removed when it ends";
      if (!scope.includes_self) events.Fail(failure);
      if (generation.is_file && !scope.includes_self) {
        // A context file (BLCR) is one temp file: unlinked now, whatever the kernel still writes
        // into it is gone with it, and the handle is released at once.
        Abandon(generation);
        return failure;
      }
      FinishCheckpointLater(std::move(pending), std::move(generation), scope.includes_self, spec.stop_after_dump,
                            std::move(guardian), events.Release(), ErrnoOf(failure));
      return failure;
    }
  }
  CheckpointOutcome outcome;
  if (failure.ok()) failure = pending->Reap(&outcome);
  result->seconds = SecondsSince(start);
  if (scope.includes_self) events.publisher().ReopenAfterCheckpoint();

  result->path = generation.link;
  result->generation = generation.path;
  result->pids = outcome.pids.empty() ? scope.pids : outcome.pids;
  if (!outcome.pids.empty()) guardian.Watch(outcome.pids);
  result->incremental = !generation.parent.empty();
  if (failure.ok() && outcome.restarted) {
    // The copy restored from this checkpoint: the original already reported it.
    result->restarted = true;
    ImageFiles images = ListImages(generation.path);
    result->images = images.files;
    result->bytes = images.bytes;
    events.Silence();
    return Failure::None();
  }
  if (!failure.ok()) {
    if (halt) SignalOthers(result->pids, SIGCONT);
    Abandon(generation);
    return events.Fail(failure);
  }
  // Stopped at once (the engine may have done it already, before letting them run), so that they
  // do not run on past their images while those are committed.
  if (halt) SignalOthers(result->pids, SIGSTOP);
  GenerationRecord record{scope.root, spec.track_memory, result->pids, spec.tuning};
  if (Failure f = Commit(generation, record); !f.ok()) {
    if (halt) SignalOthers(result->pids, SIGCONT);
    Abandon(generation);  // e.g. no room left for the manifest: D keeps its last good images
    return events.Fail(f);
  }
  ImageFiles images = ListImages(generation.path);
  result->images = images.files;
  result->bytes = images.bytes;
  result->frozen_seconds = outcome.frozen_seconds;
  if (caps.directory_images) result->must_not_change = FilesThatMustNotChange(result->pids, generation.link + ".gens/");
  if (Failure f = interrupt.Check("checkpoint"); !f.ok()) {
    // Too late to undo: the images are complete and committed. Say so, and leave the processes
    // as they were before the request.
    if (halt) SignalOthers(result->pids, SIGCONT);
    result->committed = true;
    f.message += " after its images were written: they were committed as " + generation.link +
                 " (restartable), and the processes were left running";
    events.Succeed();
    return f;
  }
  events.Succeed();
  if (options.after == After::kKill) {
    SignalOthers(result->pids, SIGKILL);
    AwaitDeath(result->pids);
    if (scope.includes_self) kill(getpid(), SIGKILL);
  } else if (options.after == After::kStop && scope.includes_self) {
    kill(getpid(), SIGSTOP);
  }
  return Failure::None();
}

Failure Checkpoint(const CheckpointOptions& options, CheckpointResult* result, const Interrupt& interrupt,
                   Engine& engine, const Capabilities& caps, EventScope& events) {
  std::string images_path;
  if (Failure f = ImagesPath(caps, options.dir, options.file, "writes", &images_path); !f.ok()) return events.Fail(f);
  ResolvedScope scope;
  if (Failure f = ResolveScope(options.scope, options.target, options.allow_own_group, &scope); !f.ok())
    return events.Fail(f);
  if (scope.includes_self && !caps.self_checkpoint)
    return events.Fail(Failure::System(EOPNOTSUPP, "the " + caps.engine +
                                                       " engine cannot checkpoint the "
                                                       "calling process; checkpoint another process instead"));
  if (caps.engine == "criu")
    if (Failure f = CheckNoIoUring(scope.pids); !f.ok()) return events.Fail(f);
  // Stopped processes that outlive their requester must not stay stopped: a request that will
  // halt others has a guardian first, or is refused before anything is stopped. Not in a
  // self-dump, whose images would hold the guardian's socket; there the others are stopped
  // only after the dump.
  HaltGuardian guardian;
  if (options.after != After::kLeaveRunning && !scope.includes_self)
    if (Failure f = HaltGuardian::Start(scope.pids, &guardian); !f.ok()) return events.Fail(f);
  Failure failure = DumpAndCommit(options, result, interrupt, engine, caps, events, images_path, scope, guardian);
  // Whatever it returned, the request sent every signal it owed (an interrupted one took the
  // guardian along to the work that sends them).
  guardian.Dismiss();
  return failure;
}

Failure Restart(const RestartOptions& options, RestartResult* result, const Interrupt& interrupt, Engine& engine,
                const Capabilities& caps, EventScope& events) {
  RestartSpec spec;
  if (Failure f = ImagesPath(caps, options.dir, options.file, "restarts from", &spec.source); !f.ok())
    return events.Fail(f);
  spec.log_file = caps.directory_images ? "restore.log" : "";
  GenerationRecord record;
  bool recorded = false;
  std::optional<PendingChecksums> checksums;
  if (caps.directory_images)
    if (Failure f = CheckRestorable(spec.source, spec.log_file, &spec.source, &record, &recorded, &checksums,
                                    {options.reap_wait_ms, [&interrupt] { return !interrupt.Check("restart").ok(); }});
        !f.ok())
      return events.Fail(f);
  // The images' checksums are compared while the engine restores, when the engine lets nothing
  // it restored run before asking (the images are read by both at once, not one after the
  // other); otherwise first.
  std::shared_ptr<AsyncCheck> verification;
  if (checksums && caps.gated_resume) {
    verification = AsyncCheck::Start([pending = std::move(*checksums)] { return VerifyChecksums(pending); });
    spec.may_resume = [verification] { return verification->Wait().ok(); };
  } else if (checksums) {
    if (Failure f = VerifyChecksums(*checksums); !f.ok()) return events.Fail(f);
  }
  // A restore the request gave up on (abort, deadline) still ends in the background; refused at
  // the gate, what it restored is killed by the engine before it ran, rather than after running
  // until the abandoned restore's answer comes back (the interrupt is copied: the gate may be
  // asked after this request returned).
  if (caps.gated_resume)
    spec.may_resume = [interrupt, verified = std::move(spec.may_resume)] {
      const bool ok = !verified || verified();
      return ok && interrupt.Check("restart").ok();
    };
  if (recorded) {
    spec.tuning = record.tuning;
    spec.root = record.root;
  } else {
    spec.tuning.connections = Connections::kFail;  // images crftb did not write: CRIU's defaults
  }
  if (options.connections >= 0) spec.tuning.connections = static_cast<Connections>(options.connections);
  if (options.network_lock >= 0) spec.tuning.network_lock = static_cast<NetworkLock>(options.network_lock);
  if (options.ext_unix_sockets >= 0) spec.tuning.ext_unix_sockets = options.ext_unix_sockets != 0;
  if (options.shell_job >= 0) spec.tuning.shell_job = options.shell_job != 0;
  if (Failure f = interrupt.Check("restart"); !f.ok()) return events.Fail(f);
  const auto start = Clock::now();
  std::unique_ptr<PendingRestart> pending;
  Failure failure = engine.StartRestart(spec, &pending);
  if (failure.ok()) {
    failure = interrupt.Wait(pending->ready_fd(), "restart");
    if (IsInterruption(failure)) {
      result->seconds = SecondsSince(start);
      failure.message += "; what the unfinished restore brings back is killed when it ends";
      FinishRestartLater(std::move(pending));
      return events.Fail(failure);
    }
  }
  RestartOutcome outcome;
  if (failure.ok()) failure = pending->Reap(&outcome);
  result->seconds = SecondsSince(start);
  if (verification) {
    // Altered images are the cause whatever the engine made of them (it may have failed on them
    // first). A restore that succeeded although the check failed cannot have asked it: what it
    // restored is killed all the same.
    if (Failure f = verification->Wait(); !f.ok()) {
      if (failure.ok()) KillRestored(outcome);
      return events.Fail(f);
    }
  }
  if (!failure.ok()) return events.Fail(failure);
  result->pid = outcome.pid;
  result->children = outcome.children && outcome.pid > 0;
  result->pids = !outcome.pids.empty() ? outcome.pids
                 : outcome.pid > 0     ? ProcessTree(outcome.pid)
                                       : std::vector<pid_t>{};
  events.Succeed();
  return Failure::None();
}

}  // namespace

Failure RunCheckpoint(const CheckpointOptions& options, CheckpointResult* result) {
  return RunRequest(Operation::kCheckpoint, options, result, Checkpoint);
}

Failure RunRestart(const RestartOptions& options, RestartResult* result) {
  return RunRequest(Operation::kRestart, options, result, Restart);
}

}  // namespace crftb::cr
