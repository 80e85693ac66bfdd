#pragma once
#include <napi.h>

namespace crftb::ftb {
// `binding.ftbRules`: the shared FTB rule modules (codes, names, subscription, config, identity,
// codec, layout) exposed for tests and diagnostics. Nothing here opens a socket except
// bootstrapExchange, which runs on a worker thread.
void RegisterRulesBinding(Napi::Env env, Napi::Object exports);
}  // namespace crftb::ftb
