#include "info.h"

#include <gnu/libc-version.h>

#include "ftb/wire.h"

namespace crftb {

static Napi::Value NativeInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  out.Set("libc", Napi::String::New(env, gnu_get_libc_version()));
  out.Set("ftbProtocol", Napi::String::New(env, "0.6.2"));
  out.Set("ftbMessageSize", Napi::Number::New(env, sizeof(ftb::wire::Message)));
  return out;
}

void RegisterInfo(Napi::Env env, Napi::Object exports) {
  exports.Set("nativeInfo", Napi::Function::New(env, NativeInfo, "nativeInfo"));
}

}  // namespace crftb
