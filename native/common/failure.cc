// Failure and errno names (failure.h): Node-free, so the fuzz harnesses in native/fuzz/ link the
// same definitions the addon uses.
#include "common/failure.h"

#include <errno.h>
#include <string.h>

namespace crftb {

namespace {

constexpr const char* kAbortCode = "ABORT_ERR";

// Linux's errno names, as glibc's strerrorname_np (2.32+) gives them (canonical names only:
// EAGAIN, not EWOULDBLOCK). A table of our own, because the prebuild must load on glibc 2.28.
// One row per line of names reads better than clang-format's one name per line.
// clang-format off
#define CRFTB_ERRNO_NAMES(X) \
  X(EPERM) X(ENOENT) X(ESRCH) X(EINTR) X(EIO) X(ENXIO) X(E2BIG) X(ENOEXEC) X(EBADF) X(ECHILD) \
  X(EAGAIN) X(ENOMEM) X(EACCES) X(EFAULT) X(ENOTBLK) X(EBUSY) X(EEXIST) X(EXDEV) X(ENODEV) \
  X(ENOTDIR) X(EISDIR) X(EINVAL) X(ENFILE) X(EMFILE) X(ENOTTY) X(ETXTBSY) X(EFBIG) X(ENOSPC) \
  X(ESPIPE) X(EROFS) X(EMLINK) X(EPIPE) X(EDOM) X(ERANGE) X(EDEADLK) X(ENAMETOOLONG) \
  X(ENOLCK) X(ENOSYS) X(ENOTEMPTY) X(ELOOP) X(ENOMSG) X(EIDRM) X(ECHRNG) X(EL2NSYNC) \
  X(EL3HLT) X(EL3RST) X(ELNRNG) X(EUNATCH) X(ENOCSI) X(EL2HLT) X(EBADE) X(EBADR) X(EXFULL) \
  X(ENOANO) X(EBADRQC) X(EBADSLT) X(EBFONT) X(ENOSTR) X(ENODATA) X(ETIME) X(ENOSR) X(ENONET) \
  X(ENOPKG) X(EREMOTE) X(ENOLINK) X(EADV) X(ESRMNT) X(ECOMM) X(EPROTO) X(EMULTIHOP) \
  X(EDOTDOT) X(EBADMSG) X(EOVERFLOW) X(ENOTUNIQ) X(EBADFD) X(EREMCHG) X(ELIBACC) X(ELIBBAD) \
  X(ELIBSCN) X(ELIBMAX) X(ELIBEXEC) X(EILSEQ) X(ERESTART) X(ESTRPIPE) X(EUSERS) X(ENOTSOCK) \
  X(EDESTADDRREQ) X(EMSGSIZE) X(EPROTOTYPE) X(ENOPROTOOPT) X(EPROTONOSUPPORT) \
  X(ESOCKTNOSUPPORT) X(EOPNOTSUPP) X(EPFNOSUPPORT) X(EAFNOSUPPORT) X(EADDRINUSE) \
  X(EADDRNOTAVAIL) X(ENETDOWN) X(ENETUNREACH) X(ENETRESET) X(ECONNABORTED) X(ECONNRESET) \
  X(ENOBUFS) X(EISCONN) X(ENOTCONN) X(ESHUTDOWN) X(ETOOMANYREFS) X(ETIMEDOUT) X(ECONNREFUSED) \
  X(EHOSTDOWN) X(EHOSTUNREACH) X(EALREADY) X(EINPROGRESS) X(ESTALE) X(EUCLEAN) X(ENOTNAM) \
  X(ENAVAIL) X(EISNAM) X(EREMOTEIO) X(EDQUOT) X(ENOMEDIUM) X(EMEDIUMTYPE) X(ECANCELED) \
  X(ENOKEY) X(EKEYEXPIRED) X(EKEYREVOKED) X(EKEYREJECTED) X(EOWNERDEAD) X(ENOTRECOVERABLE) \
  X(ERFKILL) X(EHWPOISON)
// clang-format on

const char* ErrnoNameOrNull(int err) {
  switch (err) {
#define X(name) \
  case name:    \
    return #name;
    CRFTB_ERRNO_NAMES(X)
#undef X
    default:
      return nullptr;
  }
}

}  // namespace

std::string ErrnoName(int err) {
  const char* name = ErrnoNameOrNull(err);
  return name ? std::string(name) : "E" + std::to_string(err);
}

Failure Failure::FromErrno(int err, const std::string& what) { return System(err, what + ": " + strerror(err)); }

Failure Failure::System(int err, const std::string& message) { return Coded(ErrnoName(err), message, err); }

Failure Failure::Aborted(const std::string& message) { return Coded(kAbortCode, message); }

bool Failure::aborted() const { return code == kAbortCode; }

Failure Failure::Coded(const std::string& code, const std::string& message, int errnum) {
  Failure failure;
  failure.code = code;
  failure.message = message;
  failure.errnum = errnum;
  return failure;
}

Failure Failure::At(const std::string& failed_syscall, const std::string& file) const {
  Failure located = *this;
  located.syscall = failed_syscall;
  located.path = file;
  return located;
}

Failure Failure::CausedBy(const Failure& reason) const {
  Failure chained = *this;
  if (!reason.ok()) chained.cause = std::make_shared<const Failure>(reason);
  return chained;
}

}  // namespace crftb
