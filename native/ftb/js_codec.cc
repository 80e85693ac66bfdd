#include "ftb/js_codec.h"

#include "common/js_error.h"
#include "ftb/codes.h"

namespace crftb::ftb {

void ThrowFieldTooLong(Napi::Env env, const std::string& name, size_t capacity) {
  Throw(env,
        CodeFailure(kErrInvalidValue, "field " + name + " is longer than " + std::to_string(capacity) + " characters"));
}

void JsEncoder::Bytes(const std::string& name, uint8_t* p, size_t n) {
  if (!in_.Has(name)) return;
  Napi::Value v = in_.Get(name);
  if (!v.IsBuffer()) return;
  auto buffer = v.As<Napi::Buffer<uint8_t>>();
  if (buffer.Length() > n) {
    Throw(in_.Env(),
          CodeFailure(kErrInvalidValue, "field " + name + " holds more than " + std::to_string(n) + " bytes"));
  }
  memcpy(p, buffer.Data(), buffer.Length());
}

}  // namespace crftb::ftb
