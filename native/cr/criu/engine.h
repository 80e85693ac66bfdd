// The CRIU engine: libcriu's self-dump / dump / restore behind libcr's request model. Each request
// runs libcriu's blocking call on its own thread and signals an eventfd when it returns, which is
// the handle the request model polls with its deadline.
#pragma once

#include <memory>

#include "cr/engine.h"

namespace crftb::cr::criu {

std::unique_ptr<Engine> MakeCriuEngine(const EngineConfig& config);

}  // namespace crftb::cr::criu
