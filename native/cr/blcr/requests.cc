#include "cr/blcr/requests.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "cr/blcr/errors.h"
#include "ftb/net.h"  // UniqueFd and the poll-with-deadline helpers are shared, not FTB-specific

namespace crftb::cr::blcr {
namespace {

using ftb::net::UniqueFd;


const char* ScopeName(Scope scope) {
  switch (scope) {
    case kScopeProc: return "process";
    case kScopePgrp: return "process group";
    case kScopeSess: return "session";
    case kScopeTree: return "process tree";
  }
  return "scope";
}

pid_t ParentOf(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return 0;
  // The command name may contain spaces and parentheses: fields resume after the last ')'.
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(line.substr(close + 1));
  char state = 0;
  long ppid = 0;
  rest >> state >> ppid;
  return static_cast<pid_t>(ppid);
}

bool IsSelfOrAncestor(pid_t target) {
  for (pid_t pid = getpid(); pid > 0; pid = ParentOf(pid))
    if (pid == target) return true;
  return false;
}

// The request handle is the ctrl fd in every 0.8.x libcr (§6.1).
int HandleFd(Handle handle) { return handle <= static_cast<Handle>(INT_MAX) ? static_cast<int>(handle) : -1; }

int64_t DeadlineFor(int timeout_ms) {
  return timeout_ms > 0 ? ftb::net::DeadlineAfter(timeout_ms) : ftb::net::kNoTimeout;
}

// 0 when the handle is readable (the request finished), ETIMEDOUT at the deadline, or the
// errno of a broken wait (EINTR is retried against the same deadline).
int WaitForHandle(int fd, int64_t deadline_ms) {
  if (fd < 0) return EBADF;
  bool readable = false, woken = false;
  Failure failure = ftb::net::WaitReadable(fd, -1, ftb::net::RemainingMs(deadline_ms), &readable, &woken);
  if (!failure.ok()) return failure.errnum;
  if (readable) return 0;
  return ftb::net::RemainingMs(deadline_ms) == 0 ? ETIMEDOUT : EBADF;  // else poll said POLLNVAL
}

// The kernel's messages for a finished request; empty when there are none or they cannot be read.
std::string KernelLog(LogFn log, Handle* handle) {
  int size = log(handle, 0, nullptr);
  if (size <= 1) return "";
  std::string text(static_cast<size_t>(size), '\0');
  int got = log(handle, static_cast<unsigned>(text.size()), text.data());
  if (got <= 0) return "";
  text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Failure WithKernelLog(Failure failure, const std::string& log) {
  if (!log.empty()) failure.message += ". Kernel log: " + log;
  return failure;
}

Failure TimedOut(const std::string& what, int timeout_ms) {
  return Failure::Coded("ETIMEDOUT",
                        what + " did not finish within " + std::to_string(timeout_ms) +
                            " ms. BLCR cannot cancel a request, so the kernel may still complete it; "
                            "raise the timeout if the job is large",
                        ETIMEDOUT);
}

std::string TempPathFor(const std::string& path) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir + "." + base + ".tmp";
}

// Strips trailing slashes, refuses relative or empty paths and drops identity pairs, because the
// kernel matches whole leading path components literally (§6.12).
Failure NormalizeRelocations(const std::vector<std::pair<std::string, std::string>>& in,
                             std::vector<std::pair<std::string, std::string>>* out) {
  for (auto pair : in) {
    for (std::string* p : {&pair.first, &pair.second}) {
      if (p->empty() || (*p)[0] != '/')
        return Failure::Coded("EINVAL", "relocation paths must be absolute, got '" + *p + "'", EINVAL);
      while (p->size() > 1 && p->back() == '/') p->pop_back();
    }
    if (pair.first != pair.second) out->push_back(pair);
  }
  if (out->size() > kMaxRelocations)
    return Failure::Coded("EINVAL",
                          "BLCR accepts at most " + std::to_string(kMaxRelocations) + " relocations, got " +
                              std::to_string(out->size()),
                          EINVAL);
  return Failure::None();
}

}  // namespace

Failure RefuseOwnScope(Scope scope, pid_t target, bool allow_self) {
  if (target <= 0)
    return Failure::Coded("EINVAL", "a BLCR checkpoint needs an explicit target id (libcr reads 0 as 'myself')", EINVAL);
  if (allow_self) return Failure::None();
  bool own = false;
  switch (scope) {
    case kScopeProc: own = target == getpid(); break;
    case kScopePgrp: own = target == getpgrp(); break;
    case kScopeSess: own = target == getsid(0); break;
    case kScopeTree: own = IsSelfOrAncestor(target); break;
  }
  if (!own) return Failure::None();
  return Failure::Coded("EDEADLK",
                        std::string("refusing to checkpoint the ") + ScopeName(scope) + " " + std::to_string(target) +
                            ": it contains this process (pass allowSelf to do it anyway)",
                        EDEADLK);
}

Failure Probe(const std::string& library_path, ProbeResult* result) {
  Failure failure;
  const Library* lib = Library::Load(library_path, &failure);
  if (lib == nullptr) return failure;
  result->library = lib->file;
  result->publishes_ftb = lib->publishes_ftb;
  return lib->InitThread(&result->client_id);
}

Failure Checkpoint(const CheckpointRequest& request, CheckpointResult* result) {
  if (request.path.empty()) return Failure::Coded("EINVAL", "a checkpoint needs a context file path", EINVAL);
  if (Failure refused = RefuseOwnScope(request.scope, request.target, request.allow_self); !refused.ok()) return refused;
  Failure failure;
  const Library* lib = Library::Load(request.library_path, &failure);
  if (lib == nullptr) return failure;
  int client_id = -1;
  if (Failure init = lib->InitThread(&client_id); !init.ok()) return init;

  const std::string what = std::string("BLCR checkpoint of ") + ScopeName(request.scope) + " " +
                           std::to_string(request.target);
  // Written to a temp file and renamed on success, so a failed or timed-out checkpoint never
  // leaves a half-written context under the requested name. 0400 like BLCR's own tool.
  const std::string temp = TempPathFor(request.path);
  unlink(temp.c_str());
  UniqueFd dest(open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOCTTY | O_CLOEXEC, 0400));
  if (dest.get() < 0) return Failure::FromErrno(errno, "cannot create the context file " + temp);
  auto discard = [&] {
    dest.reset();
    unlink(temp.c_str());
  };

  CheckpointArgs args{};
  if (lib->init_checkpoint_args(kArgsVersion, &args) != 0) {
    int err = errno ? errno : EIO;
    discard();
    return FailureFrom(err, what + ": cri_init_checkpoint_args_t failed");
  }
  args.scope = request.scope;
  args.target = request.target;
  args.fd = dest.get();
  args.signal = request.signal;
  // Recorded by the kernel for its own logs only; this engine enforces the deadline itself.
  args.timeout = request.timeout_ms > 0 ? static_cast<unsigned>((request.timeout_ms + 999) / 1000) : 0u;
  args.flags = request.flags | (request.allow_self ? 0u : kChkptProhibitSelf);

  const int64_t deadline = DeadlineFor(request.timeout_ms);
  Handle handle = 0;
  errno = 0;
  if (lib->request_checkpoint(&args, &handle) != 0) {
    int err = errno ? errno : EIO;
    discard();
    return FailureFrom(err, what + " was refused");
  }

  const int fd = HandleFd(handle);
  if (int waited = WaitForHandle(fd, deadline); waited != 0) {
    // Never reap early: libcr would close the handle anyway and report EAGAIN (§4.2). Closing
    // the handle only drops our interest; the kernel keeps going.
    if (fd >= 0) close(fd);
    discard();
    if (waited == ETIMEDOUT) return TimedOut(what, request.timeout_ms);
    return Failure::FromErrno(waited, what + ": waiting for the request handle failed");
  }

  result->kernel_log = KernelLog(lib->log_checkpoint, &handle);
  errno = 0;
  int reaped = lib->reap_checkpoint(&handle);
  int err = errno ? errno : EIO;
  if (reaped < 0 && err == ENOTTY && fd >= 0) close(fd);  // the one outcome where libcr keeps it open
  if (reaped < 0 && err == kERestarted) {
    result->restarted_copy = true;
    result->path = request.path;
    return Failure::None();
  }
  if (reaped < 0) {
    discard();
    return WithKernelLog(FailureFrom(err, what + " failed"), result->kernel_log);
  }

  if (fsync(dest.get()) != 0 && errno != EINVAL && errno != EROFS) {
    Failure sync = Failure::FromErrno(errno, "cannot flush the context file " + temp);
    discard();
    return sync;
  }
  dest.reset();
  if (rename(temp.c_str(), request.path.c_str()) != 0) {
    Failure renamed = Failure::FromErrno(errno, "cannot rename " + temp + " to " + request.path);
    unlink(temp.c_str());
    return renamed;
  }
  result->path = request.path;
  return Failure::None();
}

Failure Restart(const RestartRequest& request, RestartResult* result) {
  if (request.path.empty()) return Failure::Coded("EINVAL", "a restart needs a context file path", EINVAL);
  std::vector<std::pair<std::string, std::string>> relocations;
  if (Failure bad = NormalizeRelocations(request.relocate, &relocations); !bad.ok()) return bad;
  Failure failure;
  const Library* lib = Library::Load(request.library_path, &failure);
  if (lib == nullptr) return failure;
  int client_id = -1;
  if (Failure init = lib->InitThread(&client_id); !init.ok()) return init;

  const std::string what = "BLCR restart from " + request.path;
  UniqueFd source(open(request.path.c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  if (source.get() < 0) return Failure::FromErrno(errno, "cannot open the context file " + request.path);
  struct stat st;
  if (fstat(source.get(), &st) != 0) return Failure::FromErrno(errno, "cannot stat " + request.path);
  if (S_ISDIR(st.st_mode))
    return Failure::Coded("EISDIR", request.path + " is a directory; BLCR restarts from one context file", EISDIR);

  RestartArgs args{};
  if (lib->init_restart_args(kArgsVersion, &args) != 0)
    return FailureFrom(errno ? errno : EIO, what + ": cri_init_restart_args_t failed");
  args.fd = source.get();
  args.signal = request.signal;
  args.flags = (request.restore_pid ? kRstrtRestorePid : 0u) | (request.restore_pgid ? kRstrtRestorePgid : 0u) |
               (request.restore_sid ? kRstrtRestoreSid : 0u);
  // uint64_t storage gives the pointer pairs their 8-byte alignment.
  std::vector<uint64_t> table((RelocateSize(relocations.size()) + 7) / 8, 0);
  if (!relocations.empty()) {
    auto* header = reinterpret_cast<RelocateHeader*>(table.data());
    header->count = static_cast<unsigned>(relocations.size());
    auto* pairs = reinterpret_cast<RelocatePair*>(reinterpret_cast<char*>(table.data()) + kRelocatePairsOffset);
    for (size_t i = 0; i < relocations.size(); ++i) pairs[i] = {relocations[i].first.c_str(), relocations[i].second.c_str()};
    args.relocate = header;
  }

  const int64_t deadline = DeadlineFor(request.timeout_ms);
  Handle handle = 0;
  errno = 0;
  if (lib->request_restart(&args, &handle) != 0) return FailureFrom(errno ? errno : EIO, what + " was refused");
  source.reset();  // the kernel has read what it needs, as BLCR's cr_restart assumes

  const int fd = HandleFd(handle);
  if (int waited = WaitForHandle(fd, deadline); waited != 0) {
    if (fd >= 0) close(fd);
    if (waited == ETIMEDOUT) return TimedOut(what, request.timeout_ms);
    return Failure::FromErrno(waited, what + ": waiting for the request handle failed");
  }

  result->kernel_log = KernelLog(lib->log_restart, &handle);
  errno = 0;
  int reaped = lib->reap_restart(&handle);
  int err = errno ? errno : EIO;
  if (reaped < 0 && err == ENOTTY && fd >= 0) close(fd);
  if (reaped < 0) return WithKernelLog(FailureFrom(err, what + " failed"), result->kernel_log);
  result->pid = reaped;
  return Failure::None();
}

}  // namespace crftb::cr::blcr
