#include "ftb/rules_binding.h"

#include <arpa/inet.h>

#include <map>
#include <vector>

#include "common/js_error.h"
#include "ftb/codes.h"
#include "ftb/compact_binding.h"
#include "ftb/config.h"
#include "ftb/identity.h"
#include "ftb/js_codec.h"
#include "ftb/names.h"
#include "ftb/net.h"
#include "ftb/subscription.h"

namespace crftb::ftb {
namespace {

// Reports offset and size of every leaf field, measured on a real instance.
class LayoutReporter {
 public:
  LayoutReporter(Napi::Env env, const void* base) : fields_(Napi::Object::New(env)), base_(base) {}
  template <size_t N>
  void Str(const std::string& name, wire::FixedString<N>& s) {
    Add(name, &s, N);
  }
  template <class T>
  void Int(const std::string& name, T& value) {
    Add(name, &value, sizeof(T));
  }
  void Bytes(const std::string& name, uint8_t* p, size_t n) { Add(name, p, n); }
  void Pad(const std::string& name, uint8_t* p, size_t n) { Add(name, p, n); }
  Napi::Object fields() const { return fields_; }

 private:
  void Add(const std::string& name, const void* at, size_t size) {
    Napi::Array pair = Napi::Array::New(fields_.Env(), 2);
    pair.Set(0u, static_cast<double>(static_cast<const char*>(at) - static_cast<const char*>(base_)));
    pair.Set(1u, static_cast<double>(size));
    fields_.Set(name, pair);
  }
  Napi::Object fields_;
  const void* base_;
};

template <class T>
void AddLayout(Napi::Object out, const char* name) {
  T value;
  LayoutReporter r(out.Env(), &value);
  wire::VisitFields(r, "", value);
  Napi::Object entry = Napi::Object::New(out.Env());
  entry.Set("size", static_cast<double>(sizeof(T)));
  entry.Set("align", static_cast<double>(alignof(T)));
  entry.Set("fields", r.fields());
  out.Set(name, entry);
}

Napi::Value Layout(const Napi::CallbackInfo& info) {
  Napi::Object out = Napi::Object::New(info.Env());
  AddLayout<wire::LocationId>(out, "LocationId");
  AddLayout<wire::ClientId>(out, "ClientId");
  AddLayout<wire::FtbId>(out, "FtbId");
  AddLayout<wire::Event>(out, "Event");
  AddLayout<wire::Message>(out, "Message");
  AddLayout<wire::Handshake>(out, "Handshake");
  AddLayout<wire::BootstrapPacket>(out, "BootstrapPacket");
  AddLayout<wire::EventHandle>(out, "EventHandle");
  return out;
}

// Calls fn.template operator()<T>() for the struct named by `kind`.
template <class Fn>
Napi::Value WithKind(Napi::Env env, const std::string& kind, Fn&& fn) {
  if (kind == "message") return fn(wire::Message{});
  if (kind == "handshake") return fn(wire::Handshake{});
  if (kind == "location") return fn(wire::LocationId{});
  if (kind == "bootstrap") return fn(wire::BootstrapPacket{});
  if (kind == "eventHandle") return fn(wire::EventHandle{});
  if (kind == "event") return fn(wire::Event{});
  ThrowCoded(env, "ERR_INVALID_ARG_VALUE",
             "unknown wire kind '" + kind + "' (message, handshake, location, bootstrap, eventHandle, event)");
}

Napi::Value Decode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info[0].ToString();
  auto buffer = info[1].As<Napi::Buffer<uint8_t>>();
  return WithKind(env, kind, [&](auto value) -> Napi::Value {
    if (buffer.Length() != sizeof(value)) {
      ThrowCoded(env, "ERR_INVALID_ARG_VALUE",
                 kind + " must be exactly " + std::to_string(sizeof(value)) + " bytes, got " +
                     std::to_string(buffer.Length()));
    }
    memcpy(&value, buffer.Data(), sizeof(value));
    return DecodeToJs(env, value);
  });
}

Napi::Value Encode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info[0].ToString();
  Napi::Object in = info[1].As<Napi::Object>();
  return WithKind(env, kind, [&](auto value) -> Napi::Value {
    EncodeFromJs(in, &value);
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&value), sizeof(value));
  });
}

Napi::Value NormalizeBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info[0].ToString();
  auto buffer = info[1].As<Napi::Buffer<uint8_t>>();
  return WithKind(env, kind, [&](auto value) -> Napi::Value {
    if (buffer.Length() != sizeof(value)) ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "wrong size");
    memcpy(&value, buffer.Data(), sizeof(value));
    wire::Normalize(&value);
    return Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(&value), sizeof(value));
  });
}

Napi::Value CodeNameOf(const Napi::CallbackInfo& info) {
  const char* name = CodeName(info[0].ToNumber().Int32Value());
  if (name == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), name);
}

void ThrowIf(Napi::Env env, const Failure& failure) {
  if (!failure.ok()) Throw(env, failure);
}

Napi::Value ParseEventSpaceJs(const Napi::CallbackInfo& info) {
  EventSpace space;
  ThrowIf(info.Env(), ParseEventSpace(info[0].ToString(), &space));
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("region", space.region);
  out.Set("comp_cat", space.comp_cat);
  out.Set("comp", space.comp);
  return out;
}

Napi::Value ValidateClientJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Style style;
  ThrowIf(env, ParseSubscriptionStyle(info[0].ToString(), &style));
  ThrowIf(env, ParseEventSpace(info[1].ToString(), nullptr));
  ThrowIf(env, ValidateClientName(info[2].ToString()));
  ThrowIf(env, ValidateJobId(info[3].ToString()));
  return Napi::Number::New(env, style);
}

Napi::Value ValidateDeclarationJs(const Napi::CallbackInfo& info) {
  ThrowIf(info.Env(), ValidateDeclaration(info[0].ToString(), info[1].ToString()));
  return info.Env().Undefined();
}

Napi::Value ParseSubscriptionJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) {
    Throw(info.Env(), CodeFailure(kErrSubscriptionStr, "subscription string must be a string"));
  }
  wire::Event mask;
  ThrowIf(info.Env(), ParseSubscription(info[0].ToString(), &mask));
  return DecodeToJs(info.Env(), mask);
}

Napi::Value MatchesJs(const Napi::CallbackInfo& info) {
  wire::Event event, mask;
  EncodeFromJs(info[0].As<Napi::Object>(), &event);
  EncodeFromJs(info[1].As<Napi::Object>(), &mask);
  return Napi::Boolean::New(info.Env(), Matches(event, mask));
}

Napi::Value SameMaskJs(const Napi::CallbackInfo& info) {
  wire::Event a, b;
  EncodeFromJs(info[0].As<Napi::Object>(), &a);
  EncodeFromJs(info[1].As<Napi::Object>(), &b);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("agent", SameMaskForAgent(a, b));
  out.Set("libftbList", SameMaskForLibftbList(a, b));
  return out;
}

Napi::Value ResolveConfigJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object env_in = info[0].As<Napi::Object>();
  Napi::Object ov = info.Length() > 1 && info[1].IsObject() ? info[1].As<Napi::Object>() : Napi::Object::New(env);
  std::map<std::string, std::string> vars;
  Napi::Array keys = env_in.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).ToString();
    vars[key] = env_in.Get(key).ToString().Utf8Value();
  }
  ConfigOverrides overrides;
  if (ov.Has("bootstrapServer")) overrides.bootstrap_server = ov.Get("bootstrapServer").ToString().Utf8Value();
  if (ov.Has("bootstrapPort")) overrides.bootstrap_port = ov.Get("bootstrapPort").ToNumber().Int32Value();
  if (ov.Has("agentPort")) overrides.agent_port = ov.Get("agentPort").ToNumber().Int32Value();
  if (ov.Has("configFile")) overrides.config_file = ov.Get("configFile").ToString().Utf8Value();
  Config c = ResolveConfig(overrides, [&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("agentPort", c.agent_port);
  out.Set("bootstrapPort", c.bootstrap_port);
  out.Set("bootstrapServer",
          c.has_bootstrap_server ? Napi::Value(Napi::String::New(env, c.bootstrap_server)) : env.Null());
  out.Set("agentPortSource", c.agent_port_source);
  out.Set("bootstrapPortSource", c.bootstrap_port_source);
  out.Set("bootstrapServerSource", c.bootstrap_server_source);
  return out;
}

Napi::Value ParseFtbAddressJs(const Napi::CallbackInfo& info) {
  in_addr address;
  if (!ParseFtbAddress(info[0].ToString(), &address)) return info.Env().Null();
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &address, text, sizeof(text));
  return Napi::String::New(info.Env(), text);
}

Napi::Value FormatStartTimeJs(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), FormatStartTime(static_cast<time_t>(info[0].ToNumber().Int64Value())));
}

Napi::Value ProcessAddressJs(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), ProcessAddress()); }

Napi::Value IdentityJs(const Napi::CallbackInfo& info) {
  // identity(a, b): compares two FTB id objects with FTB's rules.
  wire::FtbId a, b;
  EncodeFromJs(info[0].As<Napi::Object>(), &a);
  EncodeFromJs(info[1].As<Napi::Object>(), &b);
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("sameFtbId", SameFtbId(a, b));
  out.Set("sameLocation", SameLocation(a.location, b.location));
  out.Set("sameClientInProcess", SameClientInProcess(a.client, b.client));
  out.Set("aIsAgent", IsAgent(a.client));
  out.Set("aIsManager", IsManager(a.client));
  return out;
}

Napi::Value ManagerIdJs(const Napi::CallbackInfo& info) {
  return DecodeToJs(info.Env(), ManagerClientId(static_cast<uint8_t>(info[0].ToNumber().Uint32Value())));
}

class BootstrapWorker : public Napi::AsyncWorker {
 public:
  BootstrapWorker(Napi::Env env, in_addr server, int port, wire::BootstrapPacket request, std::vector<int> timeouts,
                  bool want_reply)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        server_(server),
        port_(port),
        request_(request),
        timeouts_(std::move(timeouts)),
        want_reply_(want_reply) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    failure_ = net::BootstrapExchange(server_, port_, request_, want_reply_ ? &reply_ : nullptr, timeouts_);
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (!failure_.ok()) {
      deferred_.Reject(ToJsError(env, failure_).Value());
      return;
    }
    deferred_.Resolve(want_reply_ ? Napi::Value(DecodeToJs(env, reply_)) : env.Null());
  }

 private:
  Napi::Promise::Deferred deferred_;
  in_addr server_;
  int port_;
  wire::BootstrapPacket request_;
  wire::BootstrapPacket reply_{};
  std::vector<int> timeouts_;
  bool want_reply_;
  Failure failure_;
};

// bootstrapExchange(server, port, packetObject, timeoutsMs[] | null, wantReply) → Promise
Napi::Value BootstrapExchangeJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  in_addr server;
  if (!ParseFtbAddress(info[0].ToString(), &server)) {
    ThrowCoded(env, "ERR_INVALID_ARG_VALUE", "bootstrap server must be localhost or a dotted quad");
  }
  wire::BootstrapPacket request;
  EncodeFromJs(info[2].As<Napi::Object>(), &request);
  std::vector<int> timeouts = net::FtbBootstrapTimeouts();
  if (info[3].IsArray()) {
    timeouts.clear();
    Napi::Array a = info[3].As<Napi::Array>();
    for (uint32_t i = 0; i < a.Length(); ++i) timeouts.push_back(a.Get(i).ToNumber().Int32Value());
  }
  auto* worker = new BootstrapWorker(env, server, info[1].ToNumber().Int32Value(), request, std::move(timeouts),
                                     info[4].ToBoolean());
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace

void RegisterRulesBinding(Napi::Env env, Napi::Object exports) {
  Napi::Object rules = Napi::Object::New(env);
  rules.Set("layout", Napi::Function::New(env, Layout));
  rules.Set("decode", Napi::Function::New(env, Decode));
  rules.Set("encode", Napi::Function::New(env, Encode));
  rules.Set("normalize", Napi::Function::New(env, NormalizeBytes));
  rules.Set("codeName", Napi::Function::New(env, CodeNameOf));
  rules.Set("parseEventSpace", Napi::Function::New(env, ParseEventSpaceJs));
  rules.Set("validateClient", Napi::Function::New(env, ValidateClientJs));
  rules.Set("validateDeclaration", Napi::Function::New(env, ValidateDeclarationJs));
  rules.Set("parseSubscription", Napi::Function::New(env, ParseSubscriptionJs));
  rules.Set("matches", Napi::Function::New(env, MatchesJs));
  rules.Set("sameMask", Napi::Function::New(env, SameMaskJs));
  rules.Set("resolveConfig", Napi::Function::New(env, ResolveConfigJs));
  rules.Set("parseFtbAddress", Napi::Function::New(env, ParseFtbAddressJs));
  rules.Set("formatStartTime", Napi::Function::New(env, FormatStartTimeJs));
  rules.Set("processAddress", Napi::Function::New(env, ProcessAddressJs));
  rules.Set("compareIds", Napi::Function::New(env, IdentityJs));
  rules.Set("managerClientId", Napi::Function::New(env, ManagerIdJs));
  rules.Set("bootstrapExchange", Napi::Function::New(env, BootstrapExchangeJs));
  AddCompactRules(env, rules);
  exports.Set("ftbRules", rules);
}

}  // namespace crftb::ftb
