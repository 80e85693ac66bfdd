// eventPayload(kind, beginHandle, errno?): the END/ERROR payload bytes exactly as published, so
// tests can pin the layout (handle at 0, int32 errno at 360, zero-filled to 368).
#include <errno.h>
#include <string.h>

#include "common/js_error.h"
#include "cr/bindings.h"
#include "cr/event_publisher.h"

namespace crftb::cr {

Napi::Value EventPayloadBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  namespace wire = ftb::wire;
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBuffer())
    Throw(env, Failure::System(EINVAL, "eventPayload(kind: 'end'|'error', handle: Buffer, errno?)"));
  std::string kind = info[0].As<Napi::String>();
  auto handle_bytes = info[1].As<Napi::Buffer<uint8_t>>();
  if (handle_bytes.Length() != sizeof(wire::EventHandle))
    Throw(env, Failure::System(EINVAL, "an event handle is " + std::to_string(sizeof(wire::EventHandle)) + " bytes"));
  wire::EventHandle handle;
  memcpy(&handle, handle_bytes.Data(), sizeof handle);
  uint8_t payload[wire::kPayloadSize];
  if (kind == "end") {
    BuildEndPayload(handle, payload);
  } else if (kind == "error") {
    int32_t errnum = info.Length() > 2 && info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 0;
    BuildErrorPayload(handle, errnum, payload);
  } else {
    Throw(env, Failure::System(EINVAL, "kind must be 'end' or 'error'"));
  }
  return Napi::Buffer<uint8_t>::Copy(env, payload, sizeof payload);
}

Napi::Value PublisherStatsBinding(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  PublisherStats stats = ProcessPublisherStats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("published", Napi::Number::New(env, static_cast<double>(stats.published)));
  out.Set("dropped", Napi::Number::New(env, static_cast<double>(stats.dropped)));
  out.Set("suppressed", Napi::Number::New(env, static_cast<double>(stats.suppressed)));
  out.Set("reconnects", Napi::Number::New(env, static_cast<double>(stats.reconnects)));
  return out;
}

}  // namespace crftb::cr
