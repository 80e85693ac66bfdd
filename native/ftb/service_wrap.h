// The JS object of a native service that runs on threads of its own (agent, bootstrap server),
// following the addon's rule for long-lived native handles (docs/ARCHITECTURE.md, "Lifetime of
// native objects"), which is libuv's handle model:
//   - ref()/unref(): whether the running service keeps the event loop alive (it does from the
//     start, like a listening net.Server). The hold is a thread-safe function that is never
//     called, so Node counts it like any handle and tears it down with the environment.
//   - close(): stops the service off the JS thread (stopping joins threads and may wait on the
//     network) and settles a promise on the JS thread; afterwards the object holds nothing: no
//     loop hold, no cleanup hook, no self-reference. A second close() finds nothing to stop.
//   - an env cleanup hook: worker or process exit stops the service, so no thread outlives its
//     environment.
//   - a self-reference while running: JS dropping the object does not stop the service.
//
// Derived implements `void StopService()` (idempotent, callable from any thread) and may
// implement `void OnStopped()` (runs on the JS thread after a close()) and `void OnEnvGone()`
// (runs on the JS thread in the cleanup hook, after StopService: forget, never release, the
// thread-safe functions of the environment, which Node finalizes itself right after).
#pragma once

#include <napi.h>

namespace crftb::ftb {

template <typename Derived>
class ServiceWrap : public Napi::ObjectWrap<Derived> {
 public:
  explicit ServiceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  // The methods every service has; Derived::Define adds its own to these.
  static std::vector<typename Napi::ObjectWrap<Derived>::PropertyDescriptor> HandleMethods() {
    return {Napi::ObjectWrap<Derived>::InstanceMethod("close", &ServiceWrap::Close),
            Napi::ObjectWrap<Derived>::InstanceMethod("ref", &ServiceWrap::RefLoop),
            Napi::ObjectWrap<Derived>::InstanceMethod("unref", &ServiceWrap::UnrefLoop)};
  }

  void OnStopped() {}
  void OnEnvGone() {}

 protected:
  // Call once the service runs, at the end of the derived constructor: a service that failed to
  // start holds nothing. The hold is made before the hook, so the hook (run in reverse order of
  // registration) still finds it alive, and Node finalizes it after.
  void Hold(Napi::Env env) {
    loop_hold_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                               "crftb:service", 0, 1);
    holding_ = true;
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

  Napi::Value Close(const Napi::CallbackInfo& info) {
    auto deferred = Napi::Promise::Deferred::New(info.Env());
    (new StopWorker(self(), deferred))->Queue();
    return deferred.Promise();
  }
  Napi::Value RefLoop(const Napi::CallbackInfo& info) {
    if (holding_) loop_hold_.Ref(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value UnrefLoop(const Napi::CallbackInfo& info) {
    if (holding_) loop_hold_.Unref(info.Env());
    return info.Env().Undefined();
  }

  // The environment goes away: stop the threads now. The hold is left to Node, which finalizes
  // every thread-safe function of the environment right after.
  static void Cleanup(void* arg) {
    auto* wrap = static_cast<ServiceWrap*>(arg);
    wrap->hooked_ = false;
    wrap->holding_ = false;
    wrap->self()->StopService();
    wrap->self()->OnEnvGone();
  }

  class StopWorker : public Napi::AsyncWorker {
   public:
    StopWorker(Derived* wrap, Napi::Promise::Deferred deferred)
        : Napi::AsyncWorker(wrap->Env(), "crftb:service-close"), wrap_(wrap), deferred_(deferred) {}
    void Execute() override { wrap_->StopService(); }
    void OnOK() override {
      wrap_->OnStopped();
      wrap_->Release();
      deferred_.Resolve(Env().Undefined());
    }

   private:
    Derived* wrap_;
    Napi::Promise::Deferred deferred_;
  };

  // After close(): nothing is held any more (each step once, however many close() calls).
  void Release() {
    Unhook();
    if (holding_) loop_hold_.Release();
    holding_ = false;
    if (!released_) {
      released_ = true;
      this->Unref();
    }
  }

  Napi::ThreadSafeFunction loop_hold_;
  bool holding_ = false;
  bool hooked_ = false;
  bool released_ = false;
};

}  // namespace crftb::ftb
