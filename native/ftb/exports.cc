// Registration only: every FTB export, in one list (each defined in its own *_binding.cc).
#include "ftb/exports.h"

#include "ftb/agent_binding.h"
#include "ftb/bootstrap_binding.h"
#include "ftb/client_binding.h"
#include "ftb/rules_binding.h"

namespace crftb::ftb {

void RegisterExports(Napi::Env env, Napi::Object exports) {
  RegisterRulesBinding(env, exports);      // binding.ftbRules
  RegisterClientBinding(env, exports);     // binding.FtbClientNative
  RegisterAgentBinding(env, exports);      // binding.FtbAgent
  RegisterBootstrapBinding(env, exports);  // binding.FtbBootstrapServer
}

}  // namespace crftb::ftb
