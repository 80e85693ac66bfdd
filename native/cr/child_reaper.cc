#include "cr/child_reaper.h"

#include <errno.h>
#include <sys/wait.h>

#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

namespace crftb::cr {

namespace {

// The thread and the JS side meet here. Node deletes a thread-safe function when its environment
// is torn down even while a thread still holds it, so the thread may call it only while the
// finalizer has not run; the mutex orders the two.
struct Watch {
  std::mutex mutex;
  bool js_alive = true;
  Napi::ThreadSafeFunction tsfn;
  Napi::Promise::Deferred deferred;
  explicit Watch(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
};

// { code, signal }: the exit code, or the number of the signal that ended it (lib/ names it);
// both null when the end could not be observed.
Napi::Value ExitValue(Napi::Env env, bool waited, int status) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("code", waited && WIFEXITED(status) ? Napi::Value(Napi::Number::New(env, WEXITSTATUS(status))) : env.Null());
  out.Set("signal", waited && WIFSIGNALED(status) ? Napi::Value(Napi::Number::New(env, WTERMSIG(status))) : env.Null());
  return out;
}

void Wait(std::shared_ptr<Watch> watch, pid_t pid) {
  int status = 0;
  pid_t rc;
  while ((rc = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  // rc < 0 (ECHILD): a waitpid(-1) elsewhere in the process took it first. The promise still
  // settles (never rejects: nobody may be listening, and an unhandled rejection ends Node).
  const bool waited = rc == pid;
  std::lock_guard<std::mutex> lock(watch->mutex);
  if (!watch->js_alive) return;
  watch->tsfn.NonBlockingCall([watch, waited, status](Napi::Env env, Napi::Function) {
    watch->deferred.Resolve(ExitValue(env, waited, status));
  });
  watch->tsfn.Release();
}

}  // namespace

Napi::Promise WatchRestoredChild(Napi::Env env, pid_t pid) {
  auto watch = std::make_shared<Watch>(env);
  watch->tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                              "crftb:restored-child", 0, 1, [watch](Napi::Env) {
                                                std::lock_guard<std::mutex> lock(watch->mutex);
                                                watch->js_alive = false;
                                              });
  watch->tsfn.Unref(env);
  try {
    std::thread(Wait, watch, pid).detach();
  } catch (const std::system_error&) {
    watch->tsfn.Release();
    watch->deferred.Resolve(ExitValue(env, false, 0));
  }
  return watch->deferred.Promise();
}

}  // namespace crftb::cr
