// The BLCR engine's own JS entry points (blcrProbe, blcrCheckpoint, blcrRestart), each returning
// a Promise settled by an AsyncWorker. They exist so the engine is usable and testable on its
// own; the engine-neutral request API of lib/cr sits on top of them.
#pragma once
#include <napi.h>

namespace crftb::cr::blcr {

void RegisterBindings(Napi::Env env, Napi::Object target);

}  // namespace crftb::cr::blcr
