#include "cr/blcr/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include "common/unique_fd.h"
#include "cr/blcr/abi.h"
#include "cr/blcr/errors.h"
#include "cr/blcr/library.h"

namespace crftb::cr::blcr {
namespace {

// The request handle is the ctrl fd in every 0.8.x libcr (§6.1).
int HandleFd(Handle handle) { return handle <= static_cast<Handle>(INT_MAX) ? static_cast<int>(handle) : -1; }

int LastErrno() { return errno ? errno : EIO; }

// The kernel's messages for a finished request; empty when there are none or they cannot be read.
std::string KernelLog(LogFn log, Handle* handle) {
  int size = log(handle, 0, nullptr);
  if (size <= 1) return "";
  std::string text(static_cast<size_t>(size), '\0');
  if (log(handle, static_cast<unsigned>(text.size()), text.data()) <= 0) return "";
  text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// crftb's Scope carries libcr's numbering, so it goes into cr_checkpoint_args_t unchanged.
static_assert(static_cast<int>(Scope::kProcess) == kScopeProc && static_cast<int>(Scope::kProcessGroup) == kScopePgrp &&
              static_cast<int>(Scope::kSession) == kScopeSess && static_cast<int>(Scope::kTree) == kScopeTree);

int SignalFor(After after) {
  switch (after) {
    case After::kStop:
      return SIGSTOP;
    case After::kKill:
      return SIGKILL;
    case After::kLeaveRunning:
      return 0;
  }
  return 0;
}

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kProcess:
      return "process";
    case Scope::kProcessGroup:
      return "process group";
    case Scope::kSession:
      return "session";
    case Scope::kTree:
      return "process tree";
  }
  return "scope";
}

// One outstanding libcr request. Destroyed unreaped (a missed deadline), it only closes the
// handle: reaping early would make libcr report EAGAIN for a request the kernel is still running.
class Request {
 public:
  Request(const Library* lib, Handle handle, std::string what, UniqueFd file)
      : lib_(lib), handle_(handle), what_(std::move(what)), file_(std::move(file)) {}
  ~Request() {
    if (!reaped_ && HandleFd(handle_) >= 0) close(HandleFd(handle_));
  }
  int fd() const { return HandleFd(handle_); }

  // libcr's reap: >= 0 on success, or a Failure carrying the kernel log.
  Failure Reap(LogFn log, ReapFn reap, int* value, bool* restarted) {
    std::string kernel_log = KernelLog(log, &handle_);
    errno = 0;
    int result = reap(&handle_);
    int err = LastErrno();
    reaped_ = true;
    if (result >= 0) {
      *value = result;
      return Failure::None();
    }
    if (err == ENOTTY) close(HandleFd(handle_));  // the one outcome where libcr leaves it open
    if (restarted && err == kERestarted) {
      *restarted = true;
      return Failure::None();
    }
    Failure failure = FailureFrom(err, what_ + " failed");
    if (!kernel_log.empty()) failure.message += ". Kernel log: " + kernel_log;
    return failure;
  }

  const Library* lib() const { return lib_; }

 private:
  const Library* lib_;
  Handle handle_;
  std::string what_;
  UniqueFd file_;  // the context file, open until the kernel is done with it
  bool reaped_ = false;
};

class BlcrPendingCheckpoint : public PendingCheckpoint {
 public:
  explicit BlcrPendingCheckpoint(std::unique_ptr<Request> request) : request_(std::move(request)) {}
  int ready_fd() const override { return request_->fd(); }
  Failure Reap(CheckpointOutcome* out) override {
    int value = 0;
    // CR_ERESTARTED: this process is the copy restarted from this very checkpoint (§6.8).
    return request_->Reap(request_->lib()->log_checkpoint, request_->lib()->reap_checkpoint, &value, &out->restarted);
  }

 private:
  std::unique_ptr<Request> request_;
};

class BlcrPendingRestart : public PendingRestart {
 public:
  explicit BlcrPendingRestart(std::unique_ptr<Request> request) : request_(std::move(request)) {}
  int ready_fd() const override { return request_->fd(); }
  Failure Reap(RestartOutcome* out) override {
    int pid = 0;
    Failure failure = request_->Reap(request_->lib()->log_restart, request_->lib()->reap_restart, &pid, nullptr);
    if (!failure.ok()) return failure;
    // libcr forks the restored processes as children of the requester (§6.12); 0 = none is.
    out->pid = pid;
    out->children = pid > 0;
    return Failure::None();
  }

 private:
  std::unique_ptr<Request> request_;
};

class BlcrEngine : public Engine {
 public:
  explicit BlcrEngine(EngineConfig config) : config_(std::move(config)) {}
  const char* name() const override { return "blcr"; }

  Failure Probe(Capabilities* out) override {
    Failure failure;
    lib_ = Library::Load(config_.library, &failure);
    if (lib_ == nullptr) return failure;
    int client_id = -1;
    if (Failure init = lib_->InitThread(&client_id); !init.ok()) return init;
    out->engine = "blcr";
    out->version = LibraryVersion(lib_->file);
    out->library = lib_->file;
    // BLCR cannot save a Node process: libuv's epoll and eventfd fds make its checkpoint fail
    // with EBADF (§10.2), so the requester never checkpoints itself with this engine.
    out->self_checkpoint = false;
    out->incremental = false;
    out->directory_images = false;
    out->publishes_ftb = lib_->publishes_ftb;
    return Failure::None();
  }

  Failure StartCheckpoint(const CheckpointSpec& spec, std::unique_ptr<PendingCheckpoint>* out) override {
    if (Failure ready = Ready(); !ready.ok()) return ready;
    const std::string what =
        std::string("BLCR checkpoint of ") + ScopeName(spec.scope) + " " + std::to_string(spec.target);
    // libcr reads target 0 as "myself" for every scope; the request model resolves it first.
    if (spec.target <= 0) return Failure::System(EINVAL, what + ": the target must be resolved to an id");
    UniqueFd file(open(spec.destination.c_str(), O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC));
    if (file.get() < 0)
      return Failure::FromErrno(errno, "cannot open the context file " + spec.destination).At("open", spec.destination);

    CheckpointArgs args{};
    if (lib_->init_checkpoint_args(kArgsVersion, &args) != 0)
      return FailureFrom(LastErrno(), what + ": cri_init_checkpoint_args_t failed");
    args.scope = static_cast<int>(spec.scope);
    args.target = spec.target;
    args.fd = file.get();
    args.signal = SignalFor(spec.after);
    // The kernel double-checks what the request model decided: never include the requester.
    args.flags = spec.includes_self ? 0u : kChkptProhibitSelf;

    Handle handle = 0;
    errno = 0;
    if (lib_->request_checkpoint(&args, &handle) != 0) return FailureFrom(LastErrno(), what + " was refused");
    *out = std::make_unique<BlcrPendingCheckpoint>(std::make_unique<Request>(lib_, handle, what, std::move(file)));
    return Failure::None();
  }

  Failure StartRestart(const RestartSpec& spec, std::unique_ptr<PendingRestart>* out) override {
    if (Failure ready = Ready(); !ready.ok()) return ready;
    const std::string what = "BLCR restart from " + spec.source;
    UniqueFd file(open(spec.source.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
    if (file.get() < 0)
      return Failure::FromErrno(errno, "cannot open the context file " + spec.source).At("open", spec.source);
    struct stat st;
    if (fstat(file.get(), &st) == 0 && S_ISDIR(st.st_mode))
      return Failure::System(EISDIR, spec.source + " is a directory; BLCR restarts from one context file");

    RestartArgs args{};
    if (lib_->init_restart_args(kArgsVersion, &args) != 0)
      return FailureFrom(LastErrno(), what + ": cri_init_restart_args_t failed");
    args.fd = file.get();
    args.signal = SignalFor(spec.after);  // flags keep the initializer's CR_RSTRT_RESTORE_PID

    Handle handle = 0;
    errno = 0;
    if (lib_->request_restart(&args, &handle) != 0) return FailureFrom(LastErrno(), what + " was refused");
    *out = std::make_unique<BlcrPendingRestart>(std::make_unique<Request>(lib_, handle, what, std::move(file)));
    return Failure::None();
  }

 private:
  // Requests may come from a thread that has not called cr_init yet (§4.1).
  Failure Ready() {
    if (lib_ == nullptr) {
      Capabilities ignored;
      return Probe(&ignored);
    }
    int client_id = -1;
    return lib_->InitThread(&client_id);
  }

  // libcr's own version from its file name (libcr.so.0.5.5 → "0.5.5"; BLCR 0.8.5 ships libcr
  // 0.5.5). libcr has no call that reports it.
  static std::string LibraryVersion(const std::string& file) {
    size_t so = file.rfind(".so.");
    return so == std::string::npos ? "" : file.substr(so + 4);
  }

  EngineConfig config_;
  const Library* lib_ = nullptr;
};

}  // namespace

std::unique_ptr<Engine> MakeBlcrEngine(const EngineConfig& config) { return std::make_unique<BlcrEngine>(config); }

}  // namespace crftb::cr::blcr
