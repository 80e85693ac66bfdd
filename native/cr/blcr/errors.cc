#include "cr/blcr/errors.h"

#include <errno.h>
#include <string.h>

#include "cr/blcr/abi.h"

namespace crftb::cr::blcr {
namespace {

struct CodeInfo {
  int value;
  const char* name;
  const char* meaning;
};

// Meanings paraphrase LIBCR-FACTS.md §3.1 and §6.6; cr_strerror is deliberately not used so the
// text is the same whether or not a libcr is loaded.
constexpr CodeInfo kCodes[] = {
    {kETempFail, "CR_ETEMPFAIL", "a callback in a target cancelled the checkpoint for now; try again later"},
    {kEPermFail, "CR_EPERMFAIL", "a callback in a target cancelled the checkpoint permanently and the job was killed"},
    {kENoSupport, "CR_ENOSUPPORT",
     "a target does not load libcr (no checkpoint signal handler); start it under cr_run or link it with libcr"},
    {kEVersion, "CR_EVERSION", "libcr.so.0 and the blcr kernel module are different versions; install a matching BLCR"},
    {kEOmitted, "CR_EOMITTED", "the process was omitted from the checkpoint at a callback's request"},
    {kEBadArch, "CR_EBADARCH", "the context file was written on a different architecture"},
    {kEPtraced, "CR_EPTRACED", "a target is being ptraced; detach the tracer or allow/skip ptraced targets"},
    {kEPtracer, "CR_EPTRACER", "a target is ptracing other processes; stop tracing or skip tracers"},
    {kERstrtAbrt, "CR_ERSTRTABRT", "a restart callback failed, so the restart was aborted and the restored job killed"},
    {kERestarted, "CR_ERESTARTED",
     "this process is the restarted copy of a self-checkpoint; the request handle is no longer valid"},
    {kENotCb, "CR_ENOTCB", "the call is only valid inside a checkpoint callback"},
    {kENoInit, "CR_ENOINIT", "the calling thread never called cr_init()"},
};

const CodeInfo* Find(int err) {
  for (const CodeInfo& info : kCodes)
    if (info.value == err) return &info;
  return nullptr;
}

// Advice for plain errno values whose BLCR meaning differs from strerror's generic text.
const char* Advice(int err) {
  switch (err) {
    case ENOSYS:
      return "BLCR's kernel interface (/proc/checkpoint/ctrl) does not answer: BLCR needs its blcr kernel "
             "module (Linux 2.6–3.17 only) and libcr.so.0; on this machine use engine 'criu'";
    case EBADF:
      return "a target has an open file BLCR cannot save (epoll, eventfd, timerfd, ...); Node.js processes "
             "always do, so checkpoint them with engine 'criu'";
    case EBUSY:
      return "a target is already being checkpointed or restarted, or a saved pid is in use";
    case EDEADLK:
      return "the request would include the requesting process itself";
    case ESRCH:
      return "no target process was found or every target omitted itself";
    default:
      return nullptr;
  }
}

}  // namespace

std::string ErrorName(int err) {
  if (const CodeInfo* info = Find(err)) return info->name;
  return ErrnoName(err);
}

std::string Describe(int err) {
  if (const CodeInfo* info = Find(err)) return info->meaning;
  return strerror(err);
}

Failure FailureFrom(int err, const std::string& what) {
  std::string message = what + ": " + Describe(err);
  if (const char* advice = Advice(err)) message += " (" + std::string(advice) + ")";
  return Failure::Coded(ErrorName(err), message, err);
}

}  // namespace crftb::cr::blcr
