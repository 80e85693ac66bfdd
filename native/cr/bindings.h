// The JS-facing functions of the checkpoint/restart subsystem (each defined in its own file).
#pragma once
#include <napi.h>

namespace crftb::cr {

// locateCriu(explicitPath: string, packageRoot: string) -> { path, source }  (throws ENOENT...)
Napi::Value LocateCriuBinding(const Napi::CallbackInfo& info);
// criuCacheDir() -> string: where `crftb provision-criu` installs CRIU (criu_locator.h)
Napi::Value CriuCacheDirBinding(const Napi::CallbackInfo& info);
// criuCheck(path) -> Promise<{ passed, output }>: `criu check`, once per binary (criu_check.h)
Napi::Value CriuCheckBinding(const Napi::CallbackInfo& info);

// checkpoint(options) -> Promise<result>; restart(options) -> Promise<result> (request_binding.cc)
Napi::Value CheckpointBinding(const Napi::CallbackInfo& info);
Napi::Value RestartBinding(const Napi::CallbackInfo& info);
// probeEngine(options) -> Promise<capabilities>: the engine selection without a request
Napi::Value ProbeEngineBinding(const Napi::CallbackInfo& info);
Napi::Value DrainAbandonedBinding(const Napi::CallbackInfo& info);

// eventPayload(kind, handle, errno?) -> Buffer(368); publisherStats() (payload_binding.cc)
Napi::Value EventPayloadBinding(const Napi::CallbackInfo& info);
Napi::Value PublisherStatsBinding(const Napi::CallbackInfo& info);

// sha256(data) -> { hex, implementation }; xxh128(data) -> { hex } (checksum_binding.cc)
Napi::Value Sha256Binding(const Napi::CallbackInfo& info);
Napi::Value Xxh128Binding(const Napi::CallbackInfo& info);
Napi::Value ManifestChecksumBinding(const Napi::CallbackInfo& info);

}  // namespace crftb::cr
