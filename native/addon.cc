// The addon's only job here is registration; each subsystem owns its exports.
#include <napi.h>

#include "common/js_error.h"
#include "common/js_instance.h"
#include "cr/exports.h"
#include "ftb/exports.h"
#include "info.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  crftb::Instance::Install(env);
  crftb::RegisterErrorFactory(env, exports);
  crftb::RegisterInfo(env, exports);
  crftb::ftb::RegisterExports(env, exports);
  crftb::cr::RegisterExports(env, exports);
  return exports;
}

NODE_API_MODULE(crftb, Init)
