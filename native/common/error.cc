#include "common/error.h"

#include <string.h>

namespace crftb {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : "E" + std::to_string(err);
}

Failure Failure::FromErrno(int err, const std::string& what) {
  return Failure{ErrnoName(err), what + ": " + strerror(err), err};
}

Failure Failure::Coded(const std::string& code, const std::string& message, int errnum) {
  return Failure{code, message, errnum};
}

Napi::Error ToJsError(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message);
  error.Set("code", Napi::String::New(env, failure.code));
  if (failure.errnum != 0) error.Set("errno", Napi::Number::New(env, failure.errnum));
  return error;
}

void Throw(Napi::Env env, const Failure& failure) { throw ToJsError(env, failure); }

void ThrowErrno(Napi::Env env, int err, const std::string& what) {
  Throw(env, Failure::FromErrno(err, what));
}

void ThrowCoded(Napi::Env env, const std::string& code, const std::string& message) {
  Throw(env, Failure::Coded(code, message));
}

}  // namespace crftb
