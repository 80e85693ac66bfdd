#pragma once
#include <napi.h>

namespace crftb::ftb {
void RegisterAgentBinding(Napi::Env env, Napi::Object exports);
}
