// The JS-facing functions of the checkpoint/restart subsystem (each defined in its own file).
#pragma once
#include <napi.h>

namespace crftb::cr {

// locateCriu(explicitPath: string, packageRoot: string) -> { path, source }  (throws ENOENT...)
Napi::Value LocateCriuBinding(const Napi::CallbackInfo& info);

}  // namespace crftb::cr
