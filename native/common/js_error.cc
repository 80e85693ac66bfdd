#include "common/js_error.h"

// Failure, FromErrno, Coded and ErrnoName are defined in failure.cc.

namespace crftb {

Napi::Error ToJsError(Napi::Env env, const Failure& failure) {
  Napi::Error error = Napi::Error::New(env, failure.message);
  error.Set("code", Napi::String::New(env, failure.code));
  if (failure.errnum != 0) error.Set("errno", Napi::Number::New(env, failure.errnum));
  // crftb's brand (lib/errors.ts, isCrftbError): a registered symbol, so it is the same key in
  // every copy of crftb loaded in the process; not enumerable, so it stays out of inspection.
  error.Value().DefineProperty(Napi::PropertyDescriptor::Value(
      Napi::Symbol::For(env, "crftb.error"), Napi::Boolean::New(env, true), napi_default));
  return error;
}

void Throw(Napi::Env env, const Failure& failure) { throw ToJsError(env, failure); }

void ThrowCoded(Napi::Env env, const std::string& code, const std::string& message) {
  Throw(env, Failure::Coded(code, message));
}

}  // namespace crftb
