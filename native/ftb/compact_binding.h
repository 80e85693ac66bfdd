// ftbRules.compact: crftb's compact frames (wire_compact.h) for tests and tools: the mark, the
// frame bounds, and the codec itself, so nothing of the format is restated in TypeScript.
#pragma once

#include <napi.h>

namespace crftb::ftb {

void AddCompactRules(Napi::Env env, Napi::Object rules);

}  // namespace crftb::ftb
