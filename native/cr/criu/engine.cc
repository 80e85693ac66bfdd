#include "cr/criu/engine.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "cr/criu/daemon.h"
#include "cr/criu/dump_failure.h"
#include "cr/criu/dump_stats.h"
#include "cr/criu/libcriu.h"
#include "cr/criu/log_lines.h"
#include "cr/criu/restore_failure.h"
#include "cr/criu/service.h"
#include "cr/criu_check_cache.h"
#include "cr/criu_locator.h"

namespace crftb::cr::criu {

namespace {

constexpr int kLogLevel = 2;  // CRIU_LOG_WARN, the CLI's default: debug logging slows big dumps

// What a libcriu call leaves behind. Shared by the request thread and the Pending handle, so a
// handle abandoned at its deadline can be destroyed while libcriu is still working.
struct Job {
  int event_fd = -1;
  int rc = 0;
  ~Job() {
    if (event_fd >= 0) close(event_fd);
  }
};

// CRIU's reasons for a failure, from its log: the last few "Error (criu/file.c:line): why" lines
// before its closing "Dumping FAILED." / "Restoring FAILED.", without timestamps. CRIU logs a
// cause and then its consequences (and sometimes a harmless error first), so the last three
// together say why; "" when the log has none. Lines known to be harmless are left out.
bool Harmless(const std::string& line) {
  // CRIU raising its own fd limit where it may not (no CAP_SYS_RESOURCE over the hard limit):
  // logged as an error on every run, successful or not.
  return line.find("rlimit: Can't setup RLIMIT_NOFILE") != std::string::npos;
}

std::string LoggedReasons(const std::string& log) {
  constexpr size_t kReasons = 3;
  const std::string text = ReadLog(log);
  std::vector<std::string> reasons;
  for (size_t at = text.find("Error ("); at != std::string::npos; at = text.find("Error (", at + 1)) {
    size_t end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (line.size() >= 7 && line.compare(line.size() - 7, 7, "FAILED.") == 0) break;
    if (!Harmless(line)) reasons.push_back(std::move(line));
  }
  std::string out;
  for (size_t k = reasons.size() > kReasons ? reasons.size() - kReasons : 0; k < reasons.size(); ++k)
    out += (out.empty() ? "" : " | ") + reasons[k];
  return out;
}

// CRIU run without privileges says so in its log (not as an "Error (" line) and then reports the
// failure as EBADE; the user needs to hear EPERM and which capability. Returns the setcap command
// CRIU suggests, "" when the log does not say it needs a capability.
bool NeedsCapability(const std::string& log, std::string* setcap) {
  const std::string text = ReadLog(log);
  if (text.find("CAP_CHECKPOINT_RESTORE capability") == std::string::npos) return false;
  size_t at = text.find("setcap ");
  if (at != std::string::npos) *setcap = text.substr(at, text.find('\n', at) - at);
  return true;
}

Failure LibCriuError(int rc, const std::string& what, const std::string& log) {
  if (std::string setcap; NeedsCapability(log, &setcap)) {
    return Failure::System(EPERM, what +
                                      " failed: CRIU needs CAP_CHECKPOINT_RESTORE (or CAP_SYS_ADMIN): run as root, or "
                                      "give CRIU the capability" +
                                      (setcap.empty() ? "" : " (as root: " + setcap + ")") + "; CRIU's log is " + log);
  }
  int err = rc < 0 ? -rc : EIO;
  const std::string why = LoggedReasons(log);
  std::string message = what + " failed: " + strerror(err);
  if (!log.empty()) message += "; CRIU's log is " + log;
  if (!why.empty()) message += "; it says: " + why;
  return Failure::System(err, message);
}

// Whether an iptables binary is installed: CRIU's default network lock runs it, and fails where
// there is none (Debian 12 without the iptables package); its built-in nftables lock needs none.
bool HaveIptables() {
  static const bool found = [] {
    for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/", "/usr/local/sbin/"})
      if (access((std::string(dir) + "iptables").c_str(), X_OK) == 0) return true;
    return false;
  }();
  return found;
}

// The connection policy and the rest of EngineTuning, as libcriu options (dump and restore alike).
void Tune(const LibCriu* lib, Opts* opts, const EngineTuning& tuning, bool dump) {
  switch (tuning.connections) {
    case Connections::kClose:
      lib->set_tcp_close(opts, true);
      break;
    case Connections::kKeep: {
      lib->set_tcp_established(opts, true);
      NetworkLock lock = tuning.network_lock;
      if (lock == NetworkLock::kAuto) lock = HaveIptables() ? NetworkLock::kIptables : NetworkLock::kNftables;
      lib->set_network_lock(opts, static_cast<int>(lock));
      break;
    }
    case Connections::kFail:
      break;
  }
  if (dump && tuning.skip_in_flight) lib->set_tcp_skip_in_flight(opts, true);
  if (dump && tuning.ghost_limit > 0) lib->set_ghost_limit(opts, tuning.ghost_limit);
  if (tuning.ext_unix_sockets) lib->set_ext_unix_sk(opts, true);
  if (tuning.shell_job) lib->set_shell_job(opts, true);
}

// Builds a libcriu options object that reads/writes `dir_fd`.
Failure NewOpts(const LibCriu* lib, int dir_fd, const std::string& log, Opts** out) {
  Opts* opts = nullptr;
  if (lib->init_opts(&opts) != 0 || !opts) return Failure::System(ENOMEM, "libcriu could not allocate options");
  if (dir_fd >= 0) {
    lib->set_images_dir_fd(opts, dir_fd);
    lib->set_work_dir_fd(opts, dir_fd);
  }
  lib->set_log_level(opts, kLogLevel);
  if (!log.empty()) lib->set_log_file(opts, log.c_str());
  *out = opts;
  return Failure::None();
}

template <typename Base, typename Outcome>
class PendingJob : public Base {
 public:
  PendingJob(std::shared_ptr<Job> job, std::string what, std::string log)
      : job_(std::move(job)), what_(std::move(what)), log_(std::move(log)) {}
  int ready_fd() const override { return job_->event_fd; }

 protected:
  std::shared_ptr<Job> job_;
  std::string what_;
  std::string log_;
};

class PendingDump : public PendingJob<PendingCheckpoint, CheckpointOutcome> {
 public:
  PendingDump(std::shared_ptr<Job> job, std::string what, std::string log, pid_t target, std::string destination)
      : PendingJob(std::move(job), std::move(what), std::move(log)),
        target_(target),
        destination_(std::move(destination)) {}
  Failure Reap(CheckpointOutcome* out) override {
    if (job_->rc < 0) return ExplainDumpFailure(LibCriuError(job_->rc, what_, log_), target_, destination_, log_);
    out->restarted = job_->rc == 1;  // libcriu's self-dump: 1 in the copy restored later
    uint64_t frozen_us = 0;
    if (!out->restarted && ReadFrozenMicros(destination_, &frozen_us)) out->frozen_seconds = frozen_us / 1e6;
    return Failure::None();
  }

 private:
  pid_t target_;
  std::string destination_;
};

// A failed restore may already have cloned the root as our child (ServiceUse::kRestoreAsOurChild)
// before CRIU killed what it had restored; nobody but us can reap it. waitid without waiting says
// whether `root` is our child at all. Not after EEXIST: then the pid was someone else's all along.
// CRIU has sent the kill, so the root is reaped here, before the failure is reported (a caller
// that checks the pid must not find a zombie of a restore that failed), for up to
// kFailedRootReapMs; one that lingers longer is left to a thread that reaps it when it dies.
constexpr int kFailedRootReapMs = 5000;

void ReapFailedRoot(pid_t root, const Failure& failure) {
  siginfo_t info{};
  if (root <= 0 || failure.Is(EEXIST) || waitid(P_PID, root, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return;
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, root, 0)));
  if (pidfd.valid()) {
    pollfd exited{pidfd.get(), POLLIN, 0};
    int ready;
    while ((ready = poll(&exited, 1, kFailedRootReapMs)) < 0 && errno == EINTR) {
    }
    if (ready > 0 && waitpid(root, nullptr, WNOHANG) == root) return;
  }
  try {
    std::thread([root] {
      while (waitpid(root, nullptr, 0) < 0 && errno == EINTR) {
      }
    }).detach();
  } catch (const std::system_error&) {
    // no thread: the zombie stays until this process ends
  }
}

class PendingRestore : public PendingJob<PendingRestart, RestartOutcome> {
 public:
  PendingRestore(std::shared_ptr<Job> job, std::string what, std::string log, pid_t root)
      : PendingJob(std::move(job), std::move(what), std::move(log)), root_(root) {}
  Failure Reap(RestartOutcome* out) override {
    if (job_->rc < 0) {
      Failure failure = ExplainRestoreFailure(LibCriuError(job_->rc, what_, log_), log_);
      ReapFailedRoot(root_, failure);
      return failure;
    }
    out->pid = job_->rc;
    out->children = true;  // restored as our child (ServiceUse::kRestoreAsOurChild): ours to reap
    return Failure::None();
  }

 private:
  pid_t root_;
};

// Whether the kernel tracks soft-dirty pages (CONFIG_MEM_SOFT_DIRTY), which CRIU's incremental
// dumps (track-mem, parent images) need: clear the bits, dirty one page, and look for bit 55 of
// its pagemap entry. Kernels without it accept the clear but never set the bit.
bool SoftDirtyWorks() {
  static const bool works = [] {
    const long page = sysconf(_SC_PAGESIZE);
    void* mem = aligned_alloc(page, page);
    if (!mem) return false;
    bool ok = false;
    int refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    int map = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (refs >= 0 && map >= 0 && write(refs, "4", 1) == 1) {
      static_cast<volatile char*>(mem)[0] = 1;
      uint64_t entry = 0;
      off_t offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(mem) / page * sizeof entry);
      ok = pread(map, &entry, sizeof entry, offset) == sizeof entry && (entry >> 55 & 1);
    }
    if (refs >= 0) close(refs);
    if (map >= 0) close(map);
    free(mem);
    return ok;
  }();
  return works;
}

// One libcriu call against a CRIU service crftb started (service.h: no socket of it leaks into
// children spawned meanwhile). A self-dump goes to this process's long-lived service (daemon.h);
// the first one, or one after that service is gone, uses a service of its own and then starts
// the long-lived one (not waiting for it to come up). -errno when no service can be started.
// `keep_fd`: a descriptor a service started here holds until it ends (CheckpointSpec::hold_fd), or -1.
int CallService(const LibCriu* lib, Opts* opts, const std::string& binary, ServiceUse use, int (*call)(Opts*),
                int keep_fd = -1, int output_fd = -1) {
  const bool self = use == ServiceUse::kSelfDump;
  Service service;
  Failure f = self ? Service::Connect(binary, &service) : Failure::System(ENOENT, "not a self-dump");
  const bool start_daemon = self && !f.ok();
  if (!f.ok()) f = Service::Start(binary, use, &service, keep_fd, output_fd);
  if (!f.ok()) return -(f.errnum > 0 ? f.errnum : EIO);
  lib->set_service_fd(opts, service.TakeFd());  // libcriu closes it when the call returns
  int rc = call(opts);
  service.Wait();
  // Only in the original (rc 0): the copy restored from these images must come back with no
  // child of ours, and starting it here, before the request resolves, leaves none behind (the
  // start's intermediate process is reaped before it returns).
  if (start_daemon && rc == 0) StartDaemonIfNone(binary);
  return rc;
}

// What CRIU's notifications do for the call running on this thread (the callback gets no user
// data, and it runs on the thread that called libcriu): after a dump, stop the processes that
// are to be stopped; after a restore, before the restored processes run, ask may_resume.
struct NotifyHooks {
  std::vector<pid_t> stop_after_dump;
  std::function<bool()> may_resume;
  bool wanted() const { return !stop_after_dump.empty() || may_resume; }
};
thread_local const NotifyHooks* notify_hooks = nullptr;

int OnNotify(char* action, void*) {
  if (!notify_hooks || !action) return 0;
  if (strcmp(action, "post-dump") == 0)
    for (pid_t pid : notify_hooks->stop_after_dump) kill(pid, SIGSTOP);  // delivered as soon as CRIU lets them go
  // "post-restore" is the last notification whose failure makes CRIU kill what it restored
  // (a failed "pre-resume" is only logged): the processes exist, stopped, and none has run.
  if (strcmp(action, "post-restore") == 0 && notify_hooks->may_resume && !notify_hooks->may_resume()) return -EBADMSG;
  return 0;
}

// Runs `call` on its own thread; the eventfd turns readable when it has returned.
Failure Launch(std::shared_ptr<Job> job, std::function<int()> call) {
  job->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (job->event_fd < 0) return Failure::FromErrno(errno, "eventfd for a CRIU request").At("eventfd");
  try {
    std::thread([job, call = std::move(call)] {
      job->rc = call();
      uint64_t one = 1;
      while (write(job->event_fd, &one, sizeof one) < 0 && errno == EINTR) {
      }
    }).detach();
  } catch (const std::system_error& e) {
    return Failure::System(EAGAIN, std::string("could not start a CRIU request thread: ") + e.what());
  }
  return Failure::None();
}

// Starts `call` (a dump or a restore) on its own thread (`use`: see CallService). `opts` and
// `dir_fd` belong to the request from here on: freed when the call returns, or at once when it
// cannot be started. `keep`: a descriptor for the service to hold (CheckpointSpec::hold_fd), a
// copy of which the call owns until it returns, whatever becomes of the request meanwhile.
Failure LaunchCall(const LibCriu* lib, Opts* opts, int dir_fd, const std::string& service, ServiceUse use,
                   int (*call)(Opts*), std::shared_ptr<Job> job, NotifyHooks hooks = {}, int keep = -1,
                   const std::string& log_file = "") {
  if (hooks.wanted()) lib->set_notify_cb(opts, OnNotify);
  // What CRIU prints rather than logs (that it lacks a capability, say) goes to the end of its
  // log: appended, so CRIU's own truncation when it opens the log leaves it in order. Not in a
  // self-dump: the descriptor would be in the images, open in the restored copy.
  auto output = std::make_shared<UniqueFd>(
      log_file.empty() || use == ServiceUse::kSelfDump
          ? -1
          : openat(dir_fd, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600));
  auto kept = std::make_shared<UniqueFd>(keep >= 0 ? fcntl(keep, F_DUPFD_CLOEXEC, 0) : -1);
  if (keep >= 0 && !kept->valid()) {
    int err = errno;
    lib->free_opts(opts);
    close(dir_fd);
    return Failure::FromErrno(err, "cannot hand the CRIU service its descriptor").At("fcntl");
  }
  Failure f = Launch(std::move(job), [lib, opts, dir_fd, service, use, call, hooks = std::move(hooks), kept, output] {
    notify_hooks = &hooks;
    int rc = CallService(lib, opts, service, use, call, kept->get(), output->get());
    kept->reset();
    output->reset();
    notify_hooks = nullptr;
    lib->free_opts(opts);
    close(dir_fd);
    return rc;
  });
  if (!f.ok()) {
    lib->free_opts(opts);
    close(dir_fd);
  }
  return f;
}

class CriuEngine : public Engine {
 public:
  explicit CriuEngine(EngineConfig config) : config_(std::move(config)) {}
  const char* name() const override { return "criu"; }

  Failure Probe(Capabilities* out) override {
    if (Failure f = LoadLibCriu(config_.library, &lib_); !f.ok()) return f;
    if (config_.service.empty())
      return Failure::System(
          ENOSYS, std::string("no criu binary for libcriu's service; ") + kProvisionCriuHint + ", or set CRFTB_CRIU");
    // Asking the version starts a CRIU service; do it once per service binary, not per request,
    // nor per process (criu_check_cache.h).
    static std::mutex mutex;
    static std::map<std::string, int> versions;
    int version;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (auto it = versions.find(config_.service); it != versions.end()) {
        version = it->second;
      } else {
        const std::string stored_key = CriuCheckKey(config_.service);
        if (!LoadCriuVersion(stored_key, &version)) {
          Opts* opts = nullptr;
          if (Failure f = NewOpts(lib_, -1, "", &opts); !f.ok()) return f;
          version = CallService(lib_, opts, config_.service, ServiceUse::kRequest, lib_->get_version);
          lib_->free_opts(opts);
          StoreCriuVersion(stored_key, version);
        }
        if (version > 0) versions[config_.service] = version;
      }
    }
    if (version <= 0)
      return Failure::System(ENOSYS, "the CRIU service " + config_.service + " did not answer (" +
                                         strerror(version < 0 ? -version : EIO) + "); check it with `" +
                                         config_.service + " check`");
    out->engine = "criu";
    out->version = std::to_string(version / 10000) + "." + std::to_string(version / 100 % 100) + "." +
                   std::to_string(version % 100);
    out->library = lib_->path;
    out->self_checkpoint = true;
    out->incremental = SoftDirtyWorks();
    out->directory_images = true;
    out->publishes_ftb = false;
    out->gated_resume = true;
    return Failure::None();
  }

  Failure StartCheckpoint(const CheckpointSpec& spec, std::unique_ptr<PendingCheckpoint>* out) override {
    int dir_fd = open(spec.destination.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0)
      return Failure::FromErrno(errno, "cannot open the images directory " + spec.destination)
          .At("open", spec.destination);
    Opts* opts = nullptr;
    if (Failure f = NewOpts(lib_, dir_fd, spec.log_file, &opts); !f.ok()) {
      close(dir_fd);
      return f;
    }
    // A self-dump leaves the pid unset: the service then dumps its peer and answers the restored
    // copy with "restored", which is how criu_dump() returns 1 there.
    const bool self = spec.includes_self && spec.target == getpid();
    if (!self) lib_->set_pid(opts, spec.target);
    lib_->set_leave_running(opts, spec.after != After::kKill);
    lib_->set_track_mem(opts, spec.track_memory);
    lib_->set_file_locks(opts, true);
    Tune(lib_, opts, spec.tuning, true);
    if (!spec.parent.empty()) lib_->set_parent_images(opts, spec.parent.c_str());
    auto job = std::make_shared<Job>();
    if (Failure f = LaunchCall(lib_, opts, dir_fd, config_.service, self ? ServiceUse::kSelfDump : ServiceUse::kRequest,
                               lib_->dump, job, {spec.stop_after_dump, nullptr}, spec.hold_fd, spec.log_file);
        !f.ok())
      return f;
    std::string log = spec.log_file.empty() ? "" : spec.destination + "/" + spec.log_file;
    const pid_t target = spec.includes_self && spec.target == getpid() ? 0 : spec.target;
    *out = std::make_unique<PendingDump>(job, "CRIU dump of pid " + std::to_string(spec.target), log, target,
                                         spec.destination);
    return Failure::None();
  }

  Failure StartRestart(const RestartSpec& spec, std::unique_ptr<PendingRestart>* out) override {
    int dir_fd = open(spec.source.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0)
      return Failure::FromErrno(errno, "cannot open the images directory " + spec.source).At("open", spec.source);
    struct stat st;
    if (fstatat(dir_fd, "inventory.img", &st, 0) != 0) {
      int err = errno;
      close(dir_fd);
      return Failure::System(err, spec.source + " holds no CRIU images (no inventory.img): " + strerror(err))
          .At("fstatat", spec.source + "/inventory.img");
    }
    Opts* opts = nullptr;
    if (Failure f = NewOpts(lib_, dir_fd, spec.log_file, &opts); !f.ok()) {
      close(dir_fd);
      return f;
    }
    Tune(lib_, opts, spec.tuning, false);
    auto job = std::make_shared<Job>();
    if (Failure f = LaunchCall(lib_, opts, dir_fd, config_.service, ServiceUse::kRestoreAsOurChild, lib_->restore, job,
                               {{}, spec.may_resume}, -1, spec.log_file);
        !f.ok())
      return f;
    std::string log = spec.log_file.empty() ? "" : spec.source + "/" + spec.log_file;
    *out = std::make_unique<PendingRestore>(job, "CRIU restore from " + spec.source, log, spec.root);
    return Failure::None();
  }

 private:
  EngineConfig config_;
  const LibCriu* lib_ = nullptr;
};

}  // namespace

std::unique_ptr<Engine> MakeCriuEngine(const EngineConfig& config) { return std::make_unique<CriuEngine>(config); }

}  // namespace crftb::cr::criu
