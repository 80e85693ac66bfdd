// The one table of engines: name -> constructor.
#include "cr/engine.h"

#include "cr/criu/engine.h"

namespace crftb::cr {

std::unique_ptr<Engine> MakeEngine(const std::string& name, const EngineConfig& config) {
  if (name == "criu") return criu::MakeCriuEngine(config);
  return nullptr;  // "blcr" joins here when its engine implements this interface
}

}  // namespace crftb::cr
