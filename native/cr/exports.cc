// Registration only: the checkpoint/restart subsystem's functions live on `binding.cr`.
#include "cr/exports.h"

#include "cr/bindings.h"

namespace crftb::cr {

void RegisterExports(Napi::Env env, Napi::Object exports) {
  Napi::Object cr = Napi::Object::New(env);
  cr.Set("locateCriu", Napi::Function::New(env, LocateCriuBinding, "locateCriu"));
  exports.Set("cr", cr);
}

}  // namespace crftb::cr
