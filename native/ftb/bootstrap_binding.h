#pragma once
#include <napi.h>

namespace crftb::ftb {
// `binding.FtbBootstrapServer` (see agent_binding.cc for the lifecycle rules both follow).
void RegisterBootstrapBinding(Napi::Env env, Napi::Object exports);
}
