// Registration only: the checkpoint/restart subsystem's functions live on `binding.cr`.
#include "cr/exports.h"

#include "cr/bindings.h"
#include "cr/blcr/binding.h"

namespace crftb::cr {

void RegisterExports(Napi::Env env, Napi::Object exports) {
  Napi::Object cr = Napi::Object::New(env);
  cr.Set("locateCriu", Napi::Function::New(env, LocateCriuBinding, "locateCriu"));
  blcr::RegisterBindings(env, cr);
  cr.Set("checkpoint", Napi::Function::New(env, CheckpointBinding, "checkpoint"));
  cr.Set("restart", Napi::Function::New(env, RestartBinding, "restart"));
  cr.Set("eventPayload", Napi::Function::New(env, EventPayloadBinding, "eventPayload"));
  cr.Set("publisherStats", Napi::Function::New(env, PublisherStatsBinding, "publisherStats"));
  exports.Set("cr", cr);
}

}  // namespace crftb::cr
