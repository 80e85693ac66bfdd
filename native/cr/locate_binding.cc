#include "common/js_error.h"
#include "cr/bindings.h"
#include "cr/criu_locator.h"

namespace crftb::cr {

Napi::Value LocateCriuBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    ThrowCoded(env, "EINVAL", "locateCriu(explicitPath, packageRoot) takes two strings");
  CriuLocation location;
  Failure failure = LocateCriu(info[0].As<Napi::String>(), info[1].As<Napi::String>(), &location);
  if (!failure.ok()) Throw(env, failure);
  Napi::Object out = Napi::Object::New(env);
  out.Set("path", location.path);
  out.Set("source", location.source);
  return out;
}

}  // namespace crftb::cr
