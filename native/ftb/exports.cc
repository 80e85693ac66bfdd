#include "ftb/exports.h"

#include "ftb/agent_binding.h"
#include "ftb/client_binding.h"

namespace crftb::ftb {

void RegisterExports(Napi::Env env, Napi::Object exports) {
  RegisterClientBinding(env, exports);
  RegisterAgentBinding(env, exports);
}

}  // namespace crftb::ftb
