// The JS object of a native service that runs on its own thread (agent, bootstrap server): one
// lifetime rule for both. While running, the object holds a reference to itself (JS dropping it
// must not stop the service) and an env cleanup hook (worker or process exit stops the service,
// so no thread outlives its environment). close() stops it on a worker thread — stopping joins
// threads and may wait on the network — then drops the hook and the self-reference.
//
// Derived implements `void StopService()` (idempotent, callable from any thread) and may
// implement `void OnStopped()` (runs on the JS thread after a close()).
#pragma once

#include <napi.h>

namespace crftb::ftb {

template <typename Derived>
class ServiceWrap : public Napi::ObjectWrap<Derived> {
 public:
  explicit ServiceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto deferred = Napi::Promise::Deferred::New(info.Env());
    (new StopWorker(self(), deferred))->Queue();
    return deferred.Promise();
  }

  void OnStopped() {}

 protected:
  // Call once the service runs, at the end of the derived constructor.
  void Hold(Napi::Env env) {
    napi_add_env_cleanup_hook(env, Cleanup, this);
    hooked_ = true;
    this->Ref();
  }

  // Call from the derived destructor, before stopping the service.
  void Unhook() {
    if (hooked_) napi_remove_env_cleanup_hook(this->Env(), Cleanup, this);
    hooked_ = false;
  }

 private:
  Derived* self() { return static_cast<Derived*>(this); }

  static void Cleanup(void* arg) {
    auto* wrap = static_cast<ServiceWrap*>(arg);
    wrap->hooked_ = false;
    wrap->self()->StopService();
  }

  class StopWorker : public Napi::AsyncWorker {
   public:
    StopWorker(Derived* wrap, Napi::Promise::Deferred deferred)
        : Napi::AsyncWorker(wrap->Env(), "crftb:service-close"), wrap_(wrap), deferred_(deferred) {}
    void Execute() override { wrap_->StopService(); }
    void OnOK() override {
      wrap_->OnStopped();
      wrap_->Unhook();
      if (!wrap_->released_) {
        wrap_->released_ = true;
        wrap_->Unref();
      }
      deferred_.Resolve(Env().Undefined());
    }

   private:
    Derived* wrap_;
    Napi::Promise::Deferred deferred_;
  };

  bool hooked_ = false;
  bool released_ = false;
};

}  // namespace crftb::ftb
