// The JavaScript side of the error model: a Failure (failure.h) becomes an Error with a stable
// `code` (errno name or FTB error name), `errno` when one exists, and a message that says what to
// do - only on the JS thread, only in binding files.
#pragma once

#include <napi.h>

#include <string>

#include "common/failure.h"

namespace crftb {

Napi::Error ToJsError(Napi::Env env, const Failure& failure);
[[noreturn]] void Throw(Napi::Env env, const Failure& failure);
[[noreturn]] void ThrowCoded(Napi::Env env, const std::string& code, const std::string& message);

}  // namespace crftb
