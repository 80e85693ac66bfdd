#pragma once
#include <napi.h>

namespace crftb {
// `nativeInfo()`: what this build of the addon is (for `crftb doctor` and the load tests).
void RegisterInfo(Napi::Env env, Napi::Object exports);
}  // namespace crftb
