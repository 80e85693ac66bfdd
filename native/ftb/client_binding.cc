#include "ftb/client_binding.h"

#include "ftb/rules_binding.h"

namespace crftb::ftb {

void RegisterClientBinding(Napi::Env env, Napi::Object exports) {
  RegisterRulesBinding(env, exports);
}

}  // namespace crftb::ftb
