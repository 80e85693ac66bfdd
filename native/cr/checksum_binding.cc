// sha256(data) and xxh128(data), data a Buffer or string -> { hex, ... }: the checksums a
// checkpoint manifest uses (version 1 and 2), exposed so tests can check them against known
// answers and users can check a manifest by hand.
#include <errno.h>

#include <string>

#include "common/js_error.h"
#include "common/sha256.h"
#include "common/xxh128.h"
#include "cr/bindings.h"

namespace crftb::cr {

namespace {

// Feeds the one Buffer or string argument to `hash`; EINVAL naming `usage` for anything else.
template <typename Hash>
void HashArgument(const Napi::CallbackInfo& info, const char* usage, Hash* hash) {
  if (info.Length() == 1 && info[0].IsBuffer()) {
    auto data = info[0].As<Napi::Buffer<uint8_t>>();
    hash->Update(data.Data(), data.Length());
  } else if (info.Length() == 1 && info[0].IsString()) {
    std::string data = info[0].As<Napi::String>().Utf8Value();
    hash->Update(data.data(), data.size());
  } else {
    Throw(info.Env(), Failure::System(EINVAL, usage));
  }
}

}  // namespace

Napi::Value Sha256Binding(const Napi::CallbackInfo& info) {
  Sha256 hash;
  HashArgument(info, "sha256(data: Buffer | string)", &hash);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("hex", hash.HexFinal());
  out.Set("implementation", Sha256Implementation());
  return out;
}

Napi::Value Xxh128Binding(const Napi::CallbackInfo& info) {
  Xxh128 hash;
  HashArgument(info, "xxh128(data: Buffer | string)", &hash);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("hex", hash.HexFinal());
  return out;
}

}  // namespace crftb::cr
