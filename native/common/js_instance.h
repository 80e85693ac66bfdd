// Per-environment state of the addon (the main thread's and each worker's), kept as Node-API
// instance data: one slot per environment for the whole addon, holding one part per user, keyed
// by the part's type. A part is made on first use on that environment's JS thread and destroyed
// with the environment, after every cleanup hook ran, so nothing needs a global map keyed by
// napi_env (which would outlive the environments it names). Only the JS thread touches it.
#pragma once

#include <napi.h>

#include <memory>
#include <typeindex>
#include <unordered_map>

namespace crftb {

class Instance {
 public:
  // Called once per environment by the addon's Init, before any subsystem registers.
  static void Install(Napi::Env env);

  template <typename Part>
  static Part& Get(Napi::Env env) {
    auto& parts = env.GetInstanceData<Instance>()->parts_;
    auto it = parts.find(typeid(Part));
    if (it == parts.end()) it = parts.emplace(typeid(Part), std::make_shared<Part>()).first;
    return *static_cast<Part*>(it->second.get());
  }

 private:
  std::unordered_map<std::type_index, std::shared_ptr<void>> parts_;
};

}  // namespace crftb
