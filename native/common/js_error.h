// The JavaScript side of the error model: a Failure (failure.h) becomes an Error - only on the JS
// thread, only in binding files. The Error's shape (errno's sign, which codes are system errors,
// the brand) is lib/errors.ts's alone: the addon hands the Failure's facts to the factory that
// lib/native.ts registers (setErrorFactory) and throws what it returns.
#pragma once

#include <napi.h>

#include <string>

#include "common/failure.h"

namespace crftb {

Napi::Error ToJsError(Napi::Env env, const Failure& failure);
[[noreturn]] void Throw(Napi::Env env, const Failure& failure);
// For codes that are not system errors (ERR_INVALID_ARG_VALUE, ...): those carry their errno
// (Throw with Failure::System).
[[noreturn]] void ThrowCoded(Napi::Env env, const std::string& code, const std::string& message);

// exports.setErrorFactory(make): make(code, message, { number, syscall, path, cause }) -> Error,
// one per JS environment (main thread, each worker).
void RegisterErrorFactory(Napi::Env env, Napi::Object exports);

}  // namespace crftb
