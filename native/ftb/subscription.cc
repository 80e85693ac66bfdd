#include "ftb/subscription.h"

#include <strings.h>

#include <vector>

#include "ftb/codes.h"
#include "ftb/names.h"

namespace crftb::ftb {
namespace {

template <size_t N>
bool FieldMatches(const wire::FixedString<N>& event, const wire::FixedString<N>& mask) {
  return FieldIsAll(mask) || SameField(event, mask);
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsBlank(s[b])) ++b;
  while (e > b && IsBlank(s[e - 1])) --e;
  return s.substr(b, e - b);
}

bool HasBlank(const std::string& s) {
  for (char c : s) {
    if (IsBlank(c)) return true;
  }
  return false;
}

Failure SyntaxError(const std::string& text, const std::string& why) {
  return CodeFailure(kErrSubscriptionStr, "subscription string '" + text + "': " + why +
                                              "; expected comma-separated key=value pairs (keys event_space, "
                                              "event_name, severity, jobid, client_name, host_name), or '' for all");
}

Failure ValueError(const std::string& key, const std::string& value, const std::string& why) {
  return CodeFailure(kErrFilterValue, "subscription value '" + value + "' of " + key + " " + why);
}

template <size_t N>
Failure SetLimited(wire::FixedString<N>* field, const std::string& key, const std::string& value) {
  if (!field->set(value)) {
    return ValueError(key, value, "is longer than " + std::to_string(N - 1) + " characters");
  }
  return Failure::None();
}

enum Key { kEventSpace, kEventName, kSeverity, kJobId, kClientName, kHostName, kKeyCount };
constexpr const char* kKeys[kKeyCount] = {"event_space", "event_name", "severity", "jobid", "client_name", "host_name"};

Failure ApplyPair(Key key, const std::string& value, wire::Event* mask) {
  switch (key) {
    case kEventSpace: {
      EventSpace space;
      Failure bad = ParseEventSpace(value, &space);
      if (!bad.ok()) return bad;
      mask->region.set(space.region);
      mask->comp_cat.set(space.comp_cat);
      mask->comp.set(space.comp);
      return Failure::None();
    }
    case kEventName:
      return SetLimited(&mask->event_name, kKeys[key], value);
    case kSeverity:
      if (!IsSeverity(value) && !IsAll(value)) {
        return ValueError(kKeys[key], value, "is not one of fatal, info, warning, error, all");
      }
      mask->severity.set(value);
      return Failure::None();
    case kJobId:
      return SetLimited(&mask->client_jobid, kKeys[key], value);
    case kClientName:
      return SetLimited(&mask->client_name, kKeys[key], value);
    case kHostName:
      return SetLimited(&mask->hostname, kKeys[key], value);
    default:
      return Failure::None();
  }
}

}  // namespace

void SetMatchAll(wire::Event* mask) {
  memset(mask, 0, sizeof(*mask));
  for (auto* f : {&mask->region, &mask->comp_cat, &mask->comp, &mask->hostname}) f->set("all");
  for (auto* f : {&mask->severity, &mask->client_jobid, &mask->client_name}) f->set("all");
  mask->event_name.set("all");
}

Failure ParseSubscription(const std::string& text, wire::Event* mask) {
  wire::Event parsed;
  SetMatchAll(&parsed);
  if (text.empty()) {
    *mask = parsed;
    return Failure::None();
  }
  std::vector<std::string> pairs;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    pairs.push_back(text.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (pairs.size() > static_cast<size_t>(kMaxSubscriptionPairs)) {
    return SyntaxError(text, "more than 10 key=value pairs");
  }
  bool seen[kKeyCount] = {};
  for (const std::string& pair : pairs) {
    const size_t eq = pair.find('=');
    if (eq == std::string::npos) return SyntaxError(text, "'" + pair + "' has no '='");
    const size_t eq2 = pair.find('=', eq + 1);  // FTB ignores anything after a second '='
    const std::string key = Trim(pair.substr(0, eq));
    const std::string value = Trim(pair.substr(eq + 1, eq2 == std::string::npos ? eq2 : eq2 - eq - 1));
    if (key.empty() || value.empty()) {
      return SyntaxError(text, "'" + pair + "' has an empty key or value");
    }
    if (HasBlank(key)) {
      return CodeFailure(kErrFilterAttr, "subscription key '" + key + "' contains a blank");
    }
    if (HasBlank(value)) {
      return ValueError(key, value, "contains a blank");
    }
    int k = 0;
    while (k < kKeyCount && !SameName(key, kKeys[k])) ++k;
    if (k == kKeyCount) {
      return CodeFailure(kErrFilterAttr, "subscription key '" + key +
                                             "' is not one of event_space, event_name, severity, jobid, "
                                             "client_name, host_name");
    }
    if (seen[k]) return SyntaxError(text, "key '" + key + "' is given twice");
    seen[k] = true;
    Failure bad = ApplyPair(static_cast<Key>(k), value, &parsed);
    if (!bad.ok()) return bad;
  }
  *mask = parsed;
  return Failure::None();
}

bool Matches(const wire::Event& event, const wire::Event& mask) {
  if (!FieldMatches(event.region, mask.region) || !FieldMatches(event.client_jobid, mask.client_jobid) ||
      !FieldMatches(event.client_name, mask.client_name) || !FieldMatches(event.hostname, mask.hostname)) {
    return false;
  }
  if (!FieldIsAll(mask.event_name)) return SameField(event.event_name, mask.event_name);
  return FieldMatches(event.severity, mask.severity) && FieldMatches(event.comp_cat, mask.comp_cat) &&
         FieldMatches(event.comp, mask.comp);
}

bool SameMaskForAgent(const wire::Event& a, const wire::Event& b) {
  return SameField(a.region, b.region) && SameField(a.comp_cat, b.comp_cat) && SameField(a.comp, b.comp) &&
         SameField(a.event_name, b.event_name) && SameField(a.severity, b.severity) &&
         SameField(a.client_jobid, b.client_jobid) && SameField(a.client_name, b.client_name) &&
         SameField(a.hostname, b.hostname);
}

namespace {

// A field as index keys spell it: folded (names compare ignoring case), '*' for `all`.
template <size_t N>
void AppendKey(const wire::FixedString<N>& field, bool wildcard, std::string* key) {
  if (!wildcard) {
    AppendFoldedField(field, key);
    return;
  }
  key->push_back('*');
  key->push_back('\0');
}

}  // namespace

std::string MaskIdentity(const wire::Event& mask) {
  std::string key;
  AppendKey(mask.region, false, &key);
  AppendKey(mask.comp_cat, false, &key);
  AppendKey(mask.comp, false, &key);
  AppendKey(mask.event_name, false, &key);
  AppendKey(mask.severity, false, &key);
  AppendKey(mask.client_jobid, false, &key);
  AppendKey(mask.client_name, false, &key);
  AppendKey(mask.hostname, false, &key);
  return key;
}

// Masks naming an event are keyed by region and name (Matches then ignores category,
// component and severity); the others by the three parts of the event space.
std::string MaskBucket(const wire::Event& mask) {
  std::string key;
  if (!FieldIsAll(mask.event_name)) {
    key = "N";
    AppendKey(mask.region, FieldIsAll(mask.region), &key);
    AppendKey(mask.event_name, false, &key);
    return key;
  }
  key = "S";
  AppendKey(mask.region, FieldIsAll(mask.region), &key);
  AppendKey(mask.comp_cat, FieldIsAll(mask.comp_cat), &key);
  AppendKey(mask.comp, FieldIsAll(mask.comp), &key);
  return key;
}

void EventBuckets(const wire::Event& event, std::vector<std::string>* out) {
  // Written over the strings already in *out: routing calls this for every event, and reused
  // strings keep their capacity (no allocation per event).
  out->resize(10);
  size_t n = 0;
  for (int region = 0; region < 2; ++region) {
    std::string* key = &(*out)[n++];
    key->assign("N");
    AppendKey(event.region, region == 1, key);
    AppendKey(event.event_name, false, key);
    for (int cat = 0; cat < 2; ++cat) {
      for (int comp = 0; comp < 2; ++comp) {
        key = &(*out)[n++];
        key->assign("S");
        AppendKey(event.region, region == 1, key);
        AppendKey(event.comp_cat, cat == 1, key);
        AppendKey(event.comp, comp == 1, key);
      }
    }
  }
}

bool SameMaskForLibftbList(const wire::Event& a, const wire::Event& b) {
  return SameField(a.severity, b.severity) && SameField(a.comp_cat, b.comp_cat) && SameField(a.comp, b.comp) &&
         SameField(a.event_name, b.event_name);
}

}  // namespace crftb::ftb
