// Registration only: the checkpoint/restart subsystem's functions live on `binding.cr`.
#include "cr/exports.h"

#include "cr/bindings.h"

namespace crftb::cr {

void RegisterExports(Napi::Env env, Napi::Object exports) {
  Napi::Object cr = Napi::Object::New(env);
  cr.Set("locateCriu", Napi::Function::New(env, LocateCriuBinding, "locateCriu"));
  cr.Set("criuCacheDir", Napi::Function::New(env, CriuCacheDirBinding, "criuCacheDir"));
  cr.Set("criuCheck", Napi::Function::New(env, CriuCheckBinding, "criuCheck"));
  cr.Set("checkpoint", Napi::Function::New(env, CheckpointBinding, "checkpoint"));
  cr.Set("restart", Napi::Function::New(env, RestartBinding, "restart"));
  cr.Set("drainAbandoned", Napi::Function::New(env, DrainAbandonedBinding, "drainAbandoned"));
  cr.Set("eventPayload", Napi::Function::New(env, EventPayloadBinding, "eventPayload"));
  cr.Set("publisherStats", Napi::Function::New(env, PublisherStatsBinding, "publisherStats"));
  cr.Set("probeEngine", Napi::Function::New(env, ProbeEngineBinding, "probeEngine"));
  cr.Set("sha256", Napi::Function::New(env, Sha256Binding, "sha256"));
  cr.Set("xxh128", Napi::Function::New(env, Xxh128Binding, "xxh128"));
  cr.Set("manifestChecksum", Napi::Function::New(env, ManifestChecksumBinding, "manifestChecksum"));
  exports.Set("cr", cr);
}

}  // namespace crftb::cr
