// Reading an options object passed from JavaScript: each getter returns the property when it is
// present (not undefined/null) and of the right type, and throws an EINVAL error naming the
// option otherwise (errno EINVAL). Used by the agent, bootstrap-server and client bindings.
#pragma once

#include <napi.h>

#include <optional>
#include <string>

namespace crftb::ftb {

std::optional<std::string> OptionalString(const Napi::Object& options, const char* name);
std::optional<int> OptionalInt(const Napi::Object& options, const char* name, int min, int max);
std::optional<bool> OptionalBool(const Napi::Object& options, const char* name);

}  // namespace crftb::ftb
