// FTB's naming rules (PROTOCOL.md §10): event spaces, client names, job ids, event names,
// severities and subscription styles. Each check returns an ok Failure or one carrying FTB's
// return code for that input, with a message that names the field and the rule.
#pragma once

#include <string.h>
#include <strings.h>

#include <string>

#include "common/failure.h"
#include "ftb/wire.h"

namespace crftb::ftb {

// FTB compares every name ignoring ASCII case (§10.1) while keeping the case on the wire.
bool SameName(const std::string& a, const std::string& b);
bool IsAll(const std::string& value);  // the subscription wildcard `all`, any case

// SameName on two fixed wire fields, without copying (hot path of matching and routing).
template <size_t N>
bool SameField(const wire::FixedString<N>& a, const wire::FixedString<N>& b) {
  const size_t length = strnlen(a.bytes, N);
  return length == strnlen(b.bytes, N) && strncasecmp(a.bytes, b.bytes, length) == 0;
}
// A field as hash keys spell it: lower case, so keys are equal where SameField is, then a NUL
// (no field holds one, so keys of consecutive fields cannot run together).
template <size_t N>
void AppendFoldedField(const wire::FixedString<N>& field, std::string* key) {
  const size_t length = strnlen(field.bytes, N);
  for (size_t i = 0; i < length; ++i) {
    const char c = field.bytes[i];
    key->push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
  }
  key->push_back('\0');
}
template <size_t N>
bool FieldIsAll(const wire::FixedString<N>& field) {
  return strnlen(field.bytes, N) == 3 && strncasecmp(field.bytes, "all", 3) == 0;
}

struct EventSpace {
  std::string region;
  std::string comp_cat;
  std::string comp;

  std::string str() const { return region + "." + comp_cat + "." + comp; }
};

// REGION.CATEGORY.COMPONENT, ≤ 63 characters, three non-empty parts of [A-Za-z0-9_]
// (so `all` is accepted where subscriptions need it). Anything else — including fewer than two
// dots, which crashes FTB 0.6.2 — is FTB_ERR_EVENTSPACE_FORMAT.
Failure ParseEventSpace(const std::string& text, EventSpace* out);

// ≤ 15 characters, any characters, may be empty; else FTB_ERR_INVALID_VALUE (§10.2).
Failure ValidateClientName(const std::string& name);
Failure ValidateJobId(const std::string& jobid);

// The four severities FTB knows, any case. `all` is a severity only inside subscriptions.
bool IsSeverity(const std::string& severity);

// A declaration entry (§10.4): name 1–31 characters of [A-Za-z0-9_] and a known severity,
// else FTB_ERR_INVALID_FIELD. (FTB lets an empty name through declaration although it can never
// be published; crftb rejects it up front.)
Failure ValidateDeclaration(const std::string& name, const std::string& severity);

// The name passed to publish: 1–31 characters, else FTB_ERR_INVALID_EVENT_NAME (§10.6).
Failure ValidatePublishName(const std::string& name);

// event_type 1 (normal) or 2 (response), else FTB_ERR_INVALID_EVENT_TYPE (§10.3).
Failure ValidateEventType(int event_type);

enum Style : int { kStyleNone = 0, kStylePolling = 1, kStyleNotify = 2, kStyleBoth = 3 };
inline bool CanPoll(int style) { return (style & kStylePolling) != 0; }
inline bool CanNotify(int style) { return (style & kStyleNotify) != 0; }

// FTB_SUBSCRIPTION_NONE / _POLLING / _NOTIFY / _BOTH, any case; else FTB_ERR_SUBSCRIPTION_STYLE.
Failure ParseSubscriptionStyle(const std::string& text, Style* out);
const char* StyleName(Style style);

}  // namespace crftb::ftb
