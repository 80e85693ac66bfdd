// Wire structs ↔ plain JS objects with dotted field names ("src.location.pid"), for tests,
// diagnostics and the TypeScript API. Strings decode up to their NUL; encoding zero-fills and
// rejects values that do not fit (FTB_ERR_INVALID_VALUE) instead of truncating them.
#pragma once

#include <napi.h>

#include <string>

#include "ftb/wire.h"
#include "ftb/wire_fields.h"

namespace crftb::ftb {

class JsDecoder {
 public:
  explicit JsDecoder(Napi::Env env) : out_(Napi::Object::New(env)) {}
  template <size_t N>
  void Str(const std::string& name, wire::FixedString<N>& s) {
    out_.Set(name, s.get());
  }
  template <class T>
  void Int(const std::string& name, T& value) {
    out_.Set(name, static_cast<double>(value));
  }
  void Bytes(const std::string& name, uint8_t* p, size_t n) {
    out_.Set(name, Napi::Buffer<uint8_t>::Copy(out_.Env(), p, n));
  }
  void Pad(const std::string&, uint8_t*, size_t) {}
  Napi::Object result() const { return out_; }

 private:
  Napi::Object out_;
};

// Missing properties leave the (zeroed) field alone.
class JsEncoder {
 public:
  explicit JsEncoder(Napi::Object in) : in_(in) {}
  template <size_t N>
  void Str(const std::string& name, wire::FixedString<N>& s);
  template <class T>
  void Int(const std::string& name, T& value) {
    if (in_.Has(name)) value = static_cast<T>(in_.Get(name).ToNumber().Int64Value());
  }
  void Bytes(const std::string& name, uint8_t* p, size_t n);
  void Pad(const std::string&, uint8_t* p, size_t n) { memset(p, 0, n); }

 private:
  Napi::Object in_;
};

template <class T>
Napi::Object DecodeToJs(Napi::Env env, const T& value) {
  JsDecoder d(env);
  T copy = value;
  wire::VisitFields(d, "", copy);
  return d.result();
}

template <class T>
void EncodeFromJs(Napi::Object in, T* value) {
  memset(value, 0, sizeof(*value));
  JsEncoder e(in);
  wire::VisitFields(e, "", *value);
}

void ThrowFieldTooLong(Napi::Env env, const std::string& name, size_t capacity);

template <size_t N>
void JsEncoder::Str(const std::string& name, wire::FixedString<N>& s) {
  if (!in_.Has(name)) return;
  const std::string value = in_.Get(name).ToString().Utf8Value();
  if (!s.set(value)) ThrowFieldTooLong(in_.Env(), name, N - 1);
}

}  // namespace crftb::ftb
