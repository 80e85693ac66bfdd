// The addon's failure value, free of Node: every native failure is carried as a `Failure` (a
// stable `code`, an actionable message, an errno) through the core of native/ftb and native/cr
// and across worker threads, and becomes a JavaScript Error only at the boundary (js_error.h,
// used by *_binding.cc files alone).
#pragma once

#include <memory>
#include <string>

namespace crftb {

struct Failure {
  std::string code;                      // "ENOENT", "FTB_ERR_INVALID_FIELD", ...
  std::string message;                   // human text, already including what to do
  int errnum = 0;                        // positive errno, FTB's negative return code or BLCR's errno, 0 when none
  std::string syscall;                   // the system call that failed ("bind", "open"), when known
  std::string path;                      // the file the failure is about, when known
  std::shared_ptr<const Failure> cause;  // the failure this one follows from, when chained

  bool ok() const { return code.empty(); }
  static Failure None() { return {}; }
  // From an errno value: code = errno name; message = "<what>: <strerror>".
  static Failure FromErrno(int err, const std::string& what);
  // A system error with a message of its own: code = errno name, errnum = err.
  static Failure System(int err, const std::string& message);
  static Failure Coded(const std::string& code, const std::string& message, int errnum = 0);
  // The request was aborted by its caller (code ABORT_ERR, as Node's AbortError; no number).
  static Failure Aborted(const std::string& message);

  // Codes compared as values, not spelled-out strings: `number` is a positive errno or FTB's
  // negative return code (errnum's numbering, which keeps the two apart).
  bool Is(int number) const { return !ok() && errnum == number; }
  bool aborted() const;
  // This failure with the system call (empty when it was several) and the file it came from; the
  // JS Error shows them as Node's do (syscall, path).
  Failure At(const std::string& failed_syscall, const std::string& file = "") const;
  // This failure as the consequence of `reason` (JS: error.cause). A reason that is ok() is none.
  Failure CausedBy(const Failure& reason) const;
};

// Name of an errno value ("ENOENT"); "E<number>" when the C library has no name.
std::string ErrnoName(int err);

}  // namespace crftb
