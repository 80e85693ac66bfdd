#include "ftb/agent_binding.h"

namespace crftb::ftb {

void RegisterAgentBinding(Napi::Env env, Napi::Object exports) {}

}  // namespace crftb::ftb
