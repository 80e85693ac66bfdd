#pragma once
#include <napi.h>

namespace crftb::ftb {
// `binding.FtbBootstrapServer` (a ServiceWrap: service_wrap.h holds the lifetime rule).
void RegisterBootstrapBinding(Napi::Env env, Napi::Object exports);
}  // namespace crftb::ftb
