#include "cr/exports.h"

namespace crftb::cr {

void RegisterExports(Napi::Env env, Napi::Object exports) {}

}  // namespace crftb::cr
