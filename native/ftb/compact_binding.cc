#include "ftb/compact_binding.h"

#include <string.h>

#include "common/js_error.h"
#include "ftb/wire_compact.h"

namespace crftb::ftb {
namespace {

// encode(message: Buffer of 1336 bytes) → Buffer (one frame)
Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer() || info[0].As<Napi::Buffer<uint8_t>>().Length() != sizeof(wire::Message)) {
    ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "compact.encode takes a Buffer of one 1336-byte FTB message");
  }
  wire::Message message;
  memcpy(&message, info[0].As<Napi::Buffer<uint8_t>>().Data(), sizeof message);
  uint8_t frame[wire::kCompactMaxFrame];
  const size_t length = wire::EncodeCompact(message, frame);
  return Napi::Buffer<uint8_t>::Copy(env, frame, length);
}

// decode(bytes: Buffer) → { outcome: 'message' | 'need-more' | 'malformed', used, message? }
Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) ThrowCoded(env, "ERR_INVALID_ARG_TYPE", "compact.decode takes a Buffer");
  auto bytes = info[0].As<Napi::Buffer<uint8_t>>();
  wire::Message message;
  size_t used = 0;
  const auto outcome = wire::DecodeCompact(bytes.Data(), bytes.Length(), &message, &used);
  Napi::Object result = Napi::Object::New(env);
  result.Set("used", static_cast<double>(used));
  switch (outcome) {
    case wire::CompactDecode::kMessage:
      result.Set("outcome", "message");
      result.Set("message",
                 Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&message), sizeof message));
      break;
    case wire::CompactDecode::kNeedMore:
      result.Set("outcome", "need-more");
      break;
    case wire::CompactDecode::kMalformed:
      result.Set("outcome", "malformed");
      break;
  }
  return result;
}

}  // namespace

void AddCompactRules(Napi::Env env, Napi::Object rules) {
  Napi::Object compact = Napi::Object::New(env);
  compact.Set("mark", Napi::Buffer<char>::Copy(env, wire::kCompactMark, sizeof wire::kCompactMark));
  compact.Set("markInHostname", static_cast<double>(wire::kCompactMarkInHostname));
  compact.Set("minFrame", static_cast<double>(wire::kCompactMinFrame));
  compact.Set("maxFrame", static_cast<double>(wire::kCompactMaxFrame));
  compact.Set("encode", Napi::Function::New(env, Encode));
  compact.Set("decode", Napi::Function::New(env, Decode));
  rules.Set("compact", compact);
}

}  // namespace crftb::ftb
