#include "ftb/names.h"

#include <strings.h>

#include "ftb/codes.h"
#include "ftb/wire.h"

namespace crftb::ftb {
namespace {

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool AllNameChars(const std::string& text) {
  for (char c : text) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}

Failure SpaceError(const std::string& text, const std::string& why) {
  return CodeFailure(kErrEventspaceFormat, "event space '" + text + "' " + why +
                                               "; expected REGION.CATEGORY.COMPONENT (three non-empty parts of "
                                               "letters, digits and '_', at most 63 characters), e.g. "
                                               "FTB.checkpoint_sw.blcr");
}

constexpr const char* kStyleNames[] = {"FTB_SUBSCRIPTION_NONE", "FTB_SUBSCRIPTION_POLLING", "FTB_SUBSCRIPTION_NOTIFY",
                                       "FTB_SUBSCRIPTION_BOTH"};

}  // namespace

bool SameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool IsAll(const std::string& value) { return SameName(value, "all"); }

Failure ParseEventSpace(const std::string& text, EventSpace* out) {
  constexpr size_t kMax = decltype(wire::Event::region)::capacity();
  if (text.size() > kMax) return SpaceError(text, "is longer than 63 characters");
  const size_t first = text.find('.');
  const size_t second = first == std::string::npos ? first : text.find('.', first + 1);
  if (second == std::string::npos) return SpaceError(text, "has fewer than three parts");
  if (text.find('.', second + 1) != std::string::npos) {
    return SpaceError(text, "has more than three parts");
  }
  EventSpace parts{text.substr(0, first), text.substr(first + 1, second - first - 1), text.substr(second + 1)};
  for (const std::string* part : {&parts.region, &parts.comp_cat, &parts.comp}) {
    if (part->empty()) return SpaceError(text, "has an empty part");
    if (!AllNameChars(*part)) {
      return SpaceError(text, "contains a character other than letters, digits and '_'");
    }
  }
  if (out != nullptr) *out = std::move(parts);
  return Failure::None();
}

Failure ValidateClientName(const std::string& name) {
  if (name.size() <= decltype(wire::ClientId::client_name)::capacity()) return Failure::None();
  return CodeFailure(kErrInvalidValue, "client name '" + name + "' is longer than 15 characters");
}

Failure ValidateJobId(const std::string& jobid) {
  if (jobid.size() <= decltype(wire::Event::client_jobid)::capacity()) return Failure::None();
  return CodeFailure(kErrInvalidValue, "job id '" + jobid + "' is longer than 15 characters");
}

bool IsSeverity(const std::string& severity) {
  return SameName(severity, "fatal") || SameName(severity, "info") || SameName(severity, "warning") ||
         SameName(severity, "error");
}

Failure ValidateDeclaration(const std::string& name, const std::string& severity) {
  if (name.empty() || name.size() > decltype(wire::Event::event_name)::capacity() || !AllNameChars(name)) {
    return CodeFailure(kErrInvalidField,
                       "event name '" + name + "' must be 1-31 characters of letters, digits and '_'");
  }
  if (!IsSeverity(severity)) {
    return CodeFailure(kErrInvalidField,
                       "severity '" + severity + "' of event '" + name + "' is not one of fatal, info, warning, error");
  }
  return Failure::None();
}

Failure ValidatePublishName(const std::string& name) {
  if (!name.empty() && name.size() <= decltype(wire::Event::event_name)::capacity()) {
    return Failure::None();
  }
  return CodeFailure(kErrInvalidEventName, "event name '" + name + "' must be 1-31 characters long");
}

Failure ValidateEventType(int event_type) {
  if (event_type == 1 || event_type == 2) return Failure::None();
  return CodeFailure(kErrInvalidEventType, "event type " + std::to_string(event_type) +
                                               " is neither 1 (normal event) nor 2 (response to an event)");
}

Failure ParseSubscriptionStyle(const std::string& text, Style* out) {
  for (int style = kStyleNone; style <= kStyleBoth; ++style) {
    if (SameName(text, kStyleNames[style])) {
      if (out != nullptr) *out = static_cast<Style>(style);
      return Failure::None();
    }
  }
  return CodeFailure(kErrSubscriptionStyle, "subscription style '" + text +
                                                "' is not one of FTB_SUBSCRIPTION_NONE, FTB_SUBSCRIPTION_POLLING, "
                                                "FTB_SUBSCRIPTION_NOTIFY, FTB_SUBSCRIPTION_BOTH");
}

const char* StyleName(Style style) { return kStyleNames[style & kStyleBoth]; }

}  // namespace crftb::ftb
