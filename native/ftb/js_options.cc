#include "ftb/js_options.h"

#include <errno.h>
#include <math.h>

#include "common/js_error.h"

namespace crftb::ftb {

namespace {

[[noreturn]] void Invalid(const Napi::Object& options, const std::string& message) {
  Throw(options.Env(), Failure::System(EINVAL, message));
}

std::optional<Napi::Value> Present(const Napi::Object& options, const char* name) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined() || value.IsNull()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> OptionalString(const Napi::Object& options, const char* name) {
  auto value = Present(options, name);
  if (!value) return std::nullopt;
  if (!value->IsString()) Invalid(options, std::string("option '") + name + "' must be a string");
  return value->As<Napi::String>().Utf8Value();
}

std::optional<int> OptionalInt(const Napi::Object& options, const char* name, int min, int max) {
  auto value = Present(options, name);
  if (!value) return std::nullopt;
  const double number = value->IsNumber() ? value->As<Napi::Number>().DoubleValue() : NAN;
  if (!(number >= min && number <= max) || floor(number) != number) {
    Invalid(options, std::string("option '") + name + "' must be an integer from " + std::to_string(min) + " to " +
                         std::to_string(max));
  }
  return static_cast<int>(number);
}

std::optional<bool> OptionalBool(const Napi::Object& options, const char* name) {
  auto value = Present(options, name);
  if (!value) return std::nullopt;
  if (!value->IsBoolean()) Invalid(options, std::string("option '") + name + "' must be a boolean");
  return value->As<Napi::Boolean>().Value();
}

}  // namespace crftb::ftb
