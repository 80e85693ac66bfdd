#pragma once
#include <napi.h>

namespace crftb::ftb {
// Adds this subsystem's functions and classes to the addon's exports.
void RegisterExports(Napi::Env env, Napi::Object exports);
}  // namespace crftb::ftb
