#include "common/js_error.h"

#include <errno.h>

#include "common/js_instance.h"

// Failure and ErrnoName are defined in failure.cc.

namespace crftb {

namespace {

// lib/errors.ts's factory, one per JS environment (per-environment state, js_instance.h).
struct ErrorFactory {
  Napi::FunctionReference make;
};

Napi::Function FactoryOf(Napi::Env env) {
  Napi::FunctionReference& make = Instance::Get<ErrorFactory>(env).make;
  return make.IsEmpty() ? Napi::Function() : make.Value();
}

Napi::Value SetErrorFactory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction())
    Throw(env, Failure::System(EINVAL, "setErrorFactory(make: Function)"));
  Instance::Get<ErrorFactory>(env).make = Napi::Persistent(info[0].As<Napi::Function>());
  return env.Undefined();
}

}  // namespace

Napi::Error ToJsError(Napi::Env env, const Failure& failure) {
  Napi::Function make = FactoryOf(env);
  if (make.IsEmpty()) {  // the addon loaded without lib/native.ts: the code and message only
    Napi::Error bare = Napi::Error::New(env, failure.message);
    bare.Set("code", Napi::String::New(env, failure.code));
    return bare;
  }
  Napi::Object facts = Napi::Object::New(env);
  if (failure.errnum != 0) facts.Set("number", Napi::Number::New(env, failure.errnum));
  if (!failure.syscall.empty()) facts.Set("syscall", Napi::String::New(env, failure.syscall));
  if (!failure.path.empty()) facts.Set("path", Napi::String::New(env, failure.path));
  if (failure.cause) facts.Set("cause", ToJsError(env, *failure.cause).Value());
  Napi::Value made = make.Call({Napi::String::New(env, failure.code), Napi::String::New(env, failure.message), facts});
  return Napi::Error(env, made);
}

void Throw(Napi::Env env, const Failure& failure) { throw ToJsError(env, failure); }

void ThrowCoded(Napi::Env env, const std::string& code, const std::string& message) {
  Throw(env, Failure::Coded(code, message));
}

void RegisterErrorFactory(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorFactory", Napi::Function::New(env, SetErrorFactory, "setErrorFactory"));
}

}  // namespace crftb
