// The one table of engines: name -> constructor.
#include "cr/blcr/engine.h"
#include "cr/criu/engine.h"
#include "cr/engine.h"

namespace crftb::cr {

std::unique_ptr<Engine> MakeEngine(const std::string& name, const EngineConfig& config) {
  if (name == "criu") return criu::MakeCriuEngine(config);
  if (name == "blcr") return blcr::MakeBlcrEngine(config);
  return nullptr;
}

}  // namespace crftb::cr
