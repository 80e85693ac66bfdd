#include "ftb/client_binding.h"

namespace crftb::ftb {

void RegisterClientBinding(Napi::Env env, Napi::Object exports) {}

}  // namespace crftb::ftb
