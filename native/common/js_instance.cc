#include "common/js_instance.h"

namespace crftb {

void Instance::Install(Napi::Env env) { env.SetInstanceData(new Instance); }

}  // namespace crftb
