#pragma once
#include <napi.h>

namespace crftb::ftb {
void RegisterClientBinding(Napi::Env env, Napi::Object exports);
}
