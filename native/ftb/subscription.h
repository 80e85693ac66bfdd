// Subscription strings, masks and matching (PROTOCOL.md §11). The mask is a wire::Event whose 8
// string fields hold a value or the wildcard `all`; agents route with Matches() and the client
// dispatches with the same rule, so both sides of crftb agree with each other and with FTB.
#pragma once

#include <string>
#include <vector>

#include "common/failure.h"
#include "ftb/wire.h"

namespace crftb::ftb {

constexpr int kMaxSubscriptionPairs = 10;
// Subscriptions one client may hold: what crftb's client refuses past (maxSubscriptions) and
// what its agent accepts from one client (maxSubscriptionsPerClient), unless configured.
constexpr size_t kDefaultMaxSubscriptionsPerClient = 1024;

// Parses `key=value, key=value` (§11.1) into a zero-filled mask; unspecified fields are `all`.
// Errors carry FTB's codes: FTB_ERR_SUBSCRIPTION_STR (syntax, repeats, > 10 pairs),
// FTB_ERR_FILTER_ATTR (unknown key, blank in a key), FTB_ERR_FILTER_VALUE (bad value),
// FTB_ERR_EVENTSPACE_FORMAT (event_space value). `mask` is written only on success.
Failure ParseSubscription(const std::string& text, wire::Event* mask);

// A mask accepting every event (the parse of "").
void SetMatchAll(wire::Event* mask);

// §11.3, including FTB's event-name short-cut: when the mask names an event, severity,
// comp_cat and comp of the mask are not looked at. Case-insensitive; `all` is a wildcard.
bool Matches(const wire::Event& event, const wire::Event& mask);

// Agents' mask identity (§11.4): all 8 string fields equal ignoring case.
bool SameMaskForAgent(const wire::Event& a, const wire::Event& b);

// SameMaskForAgent as a key: equal strings exactly when SameMaskForAgent holds.
std::string MaskIdentity(const wire::Event& mask);

// Routing index (agents): every mask lives in one bucket, and Matches(event, mask) implies that
// MaskBucket(mask) is one of EventBuckets(event) — an event space or event name with each part
// either its value or the wildcard — so an agent looks at the masks that can match, not all.
std::string MaskBucket(const wire::Event& mask);
void EventBuckets(const wire::Event& event, std::vector<std::string>* out);

// FTB 0.6.2 libftb's local-list identity (§11.4 [QUIRK]): severity, comp_cat, comp and
// event_name only. Kept for reference and tests; crftb's client keeps one entry per subscription
// handle instead, so two subscriptions differing only in region/jobid/client/host both work.
bool SameMaskForLibftbList(const wire::Event& a, const wire::Event& b);

}  // namespace crftb::ftb
