// The BLCR engine: libcr.so.0's request/handle/reap model behind crftb's engine interface
// (cr/engine.h). libcr already works the way that interface does: a request returns a handle
// whose fd becomes readable when the kernel has finished, and reap collects the result once.
#pragma once

#include <memory>

#include "cr/engine.h"

namespace crftb::cr::blcr {

std::unique_ptr<Engine> MakeBlcrEngine(const EngineConfig& config);

}  // namespace crftb::cr::blcr
