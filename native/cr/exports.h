#pragma once
#include <napi.h>

namespace crftb::cr {
// Adds this subsystem's functions and classes to the addon's exports.
void RegisterExports(Napi::Env env, Napi::Object exports);
}  // namespace crftb::cr
