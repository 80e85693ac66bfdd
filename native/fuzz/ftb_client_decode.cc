// libFuzzer harness: what a client does with bytes it did not choose - subscription strings from
// its caller, events and source locations from the wire. Beyond "no crash": a parsed mask is
// matched like the wildcard mask where it is one, the match-all mask accepts every event, mask
// identity is reflexive, and an event handle is only built from a well-formed event.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string>

#include "ftb/event_handle.h"
#include "ftb/names.h"
#include "ftb/subscription.h"

using namespace crftb::ftb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A subscription string up to the first NUL (at most 512 bytes), then an event, then a location.
  const size_t text_len = strnlen(reinterpret_cast<const char*>(data), size < 512 ? size : 512);
  const std::string text(reinterpret_cast<const char*>(data), text_len);
  size_t at = text_len < size ? text_len + 1 : size;

  wire::Event event;
  memset(&event, 0, sizeof event);
  size_t take = size - at < sizeof event ? size - at : sizeof event;
  memcpy(&event, data + at, take);
  at += take;
  wire::LocationId source;
  memset(&source, 0, sizeof source);
  take = size - at < sizeof source ? size - at : sizeof source;
  memcpy(&source, data + at, take);
  at += take;
  const uint8_t ext = at < size ? data[at] : 0;

  wire::Event all;
  SetMatchAll(&all);
  if (!Matches(event, all)) __builtin_trap();

  wire::Event mask;
  if (ParseSubscription(text, &mask).ok()) {
    if (!SameMaskForAgent(mask, mask)) __builtin_trap();
    const bool matched = Matches(event, mask);
    if (matched != Matches(event, mask)) __builtin_trap();  // no hidden state
    if (text.empty() && !matched) __builtin_trap();         // "" is match-all
  }

  (void)ValidateClientName(text);
  (void)ValidateJobId(text);
  (void)ValidatePublishName(text);
  EventSpace space;
  (void)ParseEventSpace(text, &space);

  wire::EventHandle handle;
  if (EventHandleFromReceived(event, source, ext, &handle).ok() && !EventHandlesEqual(handle, handle)) __builtin_trap();
  return 0;
}
