// One error model for the whole addon: every native failure reaches JavaScript as an Error
// with a stable `code` (errno name or FTB error name), `errno` when one exists, and a message
// that says what to do. Worker threads carry failures as `Failure` values (no JS allowed off
// the main thread) and turn them into JS errors only on the JS thread.
#pragma once

#include <napi.h>

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

Napi::Error ToJsError(Napi::Env env, const Failure& failure);
[[noreturn]] void Throw(Napi::Env env, const Failure& failure);
[[noreturn]] void ThrowErrno(Napi::Env env, int err, const std::string& what);
[[noreturn]] void ThrowCoded(Napi::Env env, const std::string& code, const std::string& message);

}  // namespace crftb
