// The addon's failure value, free of Node: every native failure is carried as a `Failure` (a
// stable `code`, an actionable message, an errno) through the core of native/ftb and native/cr
// and across worker threads, and becomes a JavaScript Error only at the boundary (js_error.h,
// used by *_binding.cc files alone).
#pragma once

#include <string>

namespace crftb {

struct Failure {
  std::string code;     // "ENOENT", "FTB_ERR_INVALID_FIELD", ...
  std::string message;  // human text, already including what to do
  int errnum = 0;       // positive errno, or FTB's negative return code, 0 when neither applies

  bool ok() const { return code.empty(); }
  static Failure None() { return {}; }
  // From an errno value: code = errno name; message = "<what>: <strerror>".
  static Failure FromErrno(int err, const std::string& what);
  static Failure Coded(const std::string& code, const std::string& message, int errnum = 0);
};

// Name of an errno value ("ENOENT"); "E<number>" when the C library has no name.
std::string ErrnoName(int err);

}  // namespace crftb
