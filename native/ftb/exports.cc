#include "ftb/exports.h"

namespace crftb::ftb {

void RegisterExports(Napi::Env env, Napi::Object exports) {}

}  // namespace crftb::ftb
