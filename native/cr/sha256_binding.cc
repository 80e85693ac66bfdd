// sha256(data: Buffer | string) -> hex: the hash the checkpoint manifest uses, exposed so tests can
// check it against the NIST vectors and users can check a manifest by hand.
#include <errno.h>

#include "common/js_error.h"
#include "common/sha256.h"
#include "cr/bindings.h"

namespace crftb::cr {

Napi::Value Sha256Binding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sha256 hash;
  if (info.Length() == 1 && info[0].IsBuffer()) {
    auto data = info[0].As<Napi::Buffer<uint8_t>>();
    hash.Update(data.Data(), data.Length());
  } else if (info.Length() == 1 && info[0].IsString()) {
    std::string data = info[0].As<Napi::String>().Utf8Value();
    hash.Update(data.data(), data.size());
  } else {
    Throw(env, Failure::Coded("EINVAL", "sha256(data: Buffer | string)", EINVAL));
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("hex", hash.HexFinal());
  out.Set("implementation", Sha256Implementation());
  return out;
}

}  // namespace crftb::cr
