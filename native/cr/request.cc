#include "cr/request.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <system_error>
#include <thread>

#include "cr/images.h"
#include "cr/preflight.h"
#include "cr/scope.h"

namespace crftb::cr {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Where a request's images are for this engine: dir (a directory of images, CRIU) or file (a
// context file, BLCR). EINVAL naming the option to pass when the request gave only the other.
Failure ImagesPath(const Capabilities& caps, const std::string& dir, const std::string& file,
                   const char* verb, std::string* path) {
  *path = caps.directory_images ? dir : file;
  if (!path->empty()) return Failure::None();
  return Failure::Coded("EINVAL", "the " + caps.engine + " engine " + verb +
                                      (caps.directory_images ? " a directory of images: pass dir"
                                                             : " a context file: pass file"),
                        EINVAL);
}

// The deadline the engines do not have: poll the handle until it is readable or time is up. A
// request that misses it keeps running in the engine (nothing can cancel it) and is abandoned.
Failure AwaitReady(const Pending& pending, int timeout_ms, Clock::time_point start, const std::string& what) {
  for (;;) {
    int wait = -1;
    if (timeout_ms > 0) {
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
      wait = static_cast<int>(timeout_ms - elapsed);
      if (wait <= 0) break;
    }
    pollfd p{pending.ready_fd(), POLLIN, 0};
    int rc = poll(&p, 1, wait);
    if (rc > 0) return Failure::None();
    if (rc == 0) break;
    if (errno != EINTR) return Failure::FromErrno(errno, "waiting for the " + what);
  }
  return Failure::Coded("ETIMEDOUT", "the " + what + " did not finish within " + std::to_string(timeout_ms) +
                                         " ms (timeoutMs); the engine cannot cancel it, so it may still "
                                         "complete in the background", ETIMEDOUT);
}

int ErrnoOf(const Failure& failure) { return failure.errnum > 0 ? failure.errnum : EIO; }

// How a request's one terminal event leaves: left to the engine's libcr, published after its
// BEGIN, or - when BEGIN did not go out - withheld and counted as dropped.
template <typename Publish>
void Conclude(EventPublisher& publisher, bool suppressed, bool begun, Publish publish) {
  if (suppressed) publisher.CountSuppressed();
  else if (begun) publish();
  else publisher.CountWithheld();
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
    if (suppressed_) publisher_.CountSuppressed();
    else if (settings.enabled) begun_ = publisher_.Begin(op, &handle_);
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

// The terminal event of a request abandoned at its deadline, as EventScope::Fail would have sent it.
void FinishTimedOut(const EventScope::Handoff& events) {
  if (!events.owed) return;
  Conclude(*events.publisher, events.suppressed, events.begun,
           [&] { events.publisher->Error(events.op, events.handle, ETIMEDOUT); });
}

// A self-checkpoint that missed its deadline is still being dumped: the FTB connection stays
// closed until the engine is done (no socket may enter the image), and then the original
// publishes the ERROR the request thread could not send; the copy restored from those images
// publishes nothing, as after any self-checkpoint.
void ReopenWhenDumped(std::unique_ptr<PendingCheckpoint> pending, EventScope::Handoff events) {
  try {
    std::thread([pending = std::move(pending), events] {
      pollfd p{pending->ready_fd(), POLLIN, 0};
      while (poll(&p, 1, -1) < 0 && errno == EINTR) {
      }
      CheckpointOutcome outcome;
      const bool restarted = pending->Reap(&outcome).ok() && outcome.restarted;
      events.publisher->ReopenAfterCheckpoint();
      if (!restarted) FinishTimedOut(events);
    }).detach();
  } catch (const std::system_error&) {
    // No thread: reopen now rather than never; the dump may then fail on the socket.
    events.publisher->ReopenAfterCheckpoint();
    FinishTimedOut(events);
  }
}

}  // namespace

Failure SelectEngine(const std::string& name, const EngineConfig& criu, const EngineConfig& blcr,
                     std::unique_ptr<Engine>* engine, Capabilities* caps) {
  if (name == "criu" || name == "blcr") {
    auto candidate = MakeEngine(name, name == "criu" ? criu : blcr);
    if (!candidate)
      return Failure::Coded("ENOSYS", "the " + name + " engine is not part of this build of crftb", ENOSYS);
    if (Failure f = candidate->Probe(caps); !f.ok()) return f;
    *engine = std::move(candidate);
    return Failure::None();
  }
  if (name != "auto")
    return Failure::Coded("EINVAL", "engine must be 'auto', 'criu' or 'blcr', not '" + name + "'", EINVAL);
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
  return Failure::Coded("ENOSYS", "no checkpoint engine works on this machine (" + reasons +
                                      "). Install CRIU (scripts/provision-criu.sh, or a criu that passes "
                                      "`criu check`, plus libcriu.so.2) or BLCR's kernel module and libcr.so.0",
                        ENOSYS);
}

Failure RunCheckpoint(const CheckpointOptions& options, CheckpointResult* result) {
  std::unique_ptr<Engine> engine;
  Capabilities caps;
  Failure selected = SelectEngine(options.engine, options.criu, options.blcr, &engine, &caps);
  EventScope events(Operation::kCheckpoint, options.ftb, selected.ok() && caps.publishes_ftb);
  if (!selected.ok()) return events.Fail(selected);
  result->engine = caps.engine;

  std::string images_path;
  if (Failure f = ImagesPath(caps, options.dir, options.file, "writes", &images_path); !f.ok()) return events.Fail(f);
  ResolvedScope scope;
  if (Failure f = ResolveScope(options.scope, options.target, options.allow_own_group, &scope); !f.ok())
    return events.Fail(f);
  if (scope.includes_self && !caps.self_checkpoint)
    return events.Fail(Failure::Coded("EOPNOTSUPP", "the " + caps.engine + " engine cannot checkpoint the "
                                                    "calling process; checkpoint another process instead", EOPNOTSUPP));
  if (caps.engine == "criu")
    if (Failure f = CheckNoIoUring(scope.pids); !f.ok()) return events.Fail(f);

  Generation generation;
  Failure prepared = caps.directory_images
                         ? PrepareDirectory(images_path, options.incremental && caps.incremental, scope.root, &generation)
                         : PrepareFile(images_path, &generation);
  if (!prepared.ok()) return events.Fail(prepared);

  CheckpointSpec spec;
  spec.scope = options.scope;
  spec.target = scope.root;
  spec.includes_self = scope.includes_self;
  spec.destination = generation.path;
  spec.after = options.after;
  spec.parent = generation.parent;
  spec.track_memory = options.incremental && caps.incremental;
  spec.log_file = caps.directory_images ? "dump.log" : "";

  // A process that kills itself with its checkpoint never gets to commit afterwards.
  const bool dies = scope.includes_self && options.after == After::kKill;
  GenerationRecord record{scope.root, spec.track_memory, scope.pids, !dies};
  if (dies)
    if (Failure f = Commit(generation, record); !f.ok()) {
      Abandon(generation);
      return events.Fail(f);
    }

  if (scope.includes_self) events.publisher().CloseForCheckpoint();
  const auto start = Clock::now();
  std::unique_ptr<PendingCheckpoint> pending;
  Failure failure = engine->StartCheckpoint(spec, &pending);
  bool abandoned = false;  // missed the deadline: the engine is still at work
  if (failure.ok()) {
    failure = AwaitReady(*pending, options.timeout_ms, start, "checkpoint");
    abandoned = failure.code == "ETIMEDOUT";
  }
  CheckpointOutcome outcome;
  if (failure.ok()) failure = pending->Reap(&outcome);
  result->seconds = SecondsSince(start);
  if (scope.includes_self && abandoned) {
    result->path = generation.link;
    result->generation = generation.path;
    ReopenWhenDumped(std::move(pending), events.Release());
    return failure;
  }
  if (scope.includes_self) events.publisher().ReopenAfterCheckpoint();

  result->path = generation.link;
  result->generation = generation.path;
  result->pids = outcome.pids.empty() ? scope.pids : outcome.pids;
  result->incremental = !generation.parent.empty();
  if (failure.ok() && outcome.restarted) {
    // The copy restored from this checkpoint: the original already reported it.
    result->restarted = true;
    events.Silence();
    return Failure::None();
  }
  if (!failure.ok()) {
    if (failure.code != "ETIMEDOUT" && !dies) Abandon(generation);
    return events.Fail(failure);
  }
  record.pids = result->pids;
  if (!dies)
    if (Failure f = Commit(generation, record); !f.ok()) {
      Abandon(generation);  // e.g. no room left for the manifest: D keeps its last good images
      return events.Fail(f);
    }
  ImageFiles images = ListImages(generation.path);
  result->images = images.files;
  result->bytes = images.bytes;
  events.Succeed();
  if (options.after == After::kStop) {
    for (pid_t pid : result->pids)
      if (pid != getpid()) kill(pid, SIGSTOP);
    if (scope.includes_self) kill(getpid(), SIGSTOP);
  }
  return Failure::None();
}

Failure RunRestart(const RestartOptions& options, RestartResult* result) {
  std::unique_ptr<Engine> engine;
  Capabilities caps;
  Failure selected = SelectEngine(options.engine, options.criu, options.blcr, &engine, &caps);
  EventScope events(Operation::kRestart, options.ftb, selected.ok() && caps.publishes_ftb);
  if (!selected.ok()) return events.Fail(selected);
  result->engine = caps.engine;
  RestartSpec spec;
  if (Failure f = ImagesPath(caps, options.dir, options.file, "restarts from", &spec.source); !f.ok())
    return events.Fail(f);
  spec.log_file = caps.directory_images ? "restore.log" : "";
  if (caps.directory_images)
    if (Failure f = CheckRestorable(spec.source); !f.ok()) return events.Fail(f);
  const auto start = Clock::now();
  std::unique_ptr<PendingRestart> pending;
  Failure failure = engine->StartRestart(spec, &pending);
  if (failure.ok()) failure = AwaitReady(*pending, options.timeout_ms, start, "restart");
  RestartOutcome outcome;
  if (failure.ok()) failure = pending->Reap(&outcome);
  result->seconds = SecondsSince(start);
  if (!failure.ok()) return events.Fail(failure);
  result->pid = outcome.pid;
  result->children = outcome.children && outcome.pid > 0;
  result->pids = !outcome.pids.empty() ? outcome.pids : outcome.pid > 0 ? ProcessTree(outcome.pid) : std::vector<pid_t>{};
  events.Succeed();
  return Failure::None();
}

}  // namespace crftb::cr
