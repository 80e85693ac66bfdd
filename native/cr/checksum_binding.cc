// sha256(data) and xxh128(data), data a Buffer or string -> { hex, ... }: the checksums a
// checkpoint manifest uses (versions 1 to 3), exposed so tests can check them against known
// answers and users can check a manifest by hand; manifestChecksum(data) is version 3's rule.
#include <errno.h>

#include <string>

#include "common/js_error.h"
#include "common/sha256.h"
#include "common/xxh128.h"
#include "cr/bindings.h"
#include "cr/manifest.h"

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

// manifestChecksum(data: Buffer) -> { hex }: the checksum a version 3 manifest lists for a file
// with these bytes (manifest.h), so a manifest can be checked by hand.
Napi::Value ManifestChecksumBinding(const Napi::CallbackInfo& info) {
  if (info.Length() != 1 || !info[0].IsBuffer())
    Throw(info.Env(), Failure::System(EINVAL, "manifestChecksum(data: Buffer)"));
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("hex", SegmentedXxh128(data.Data(), data.Length()));
  return out;
}

Napi::Value Xxh128Binding(const Napi::CallbackInfo& info) {
  Xxh128 hash;
  HashArgument(info, "xxh128(data: Buffer | string)", &hash);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("hex", hash.HexFinal());
  out.Set("implementation", Xxh128Implementation());
  return out;
}

}  // namespace crftb::cr
