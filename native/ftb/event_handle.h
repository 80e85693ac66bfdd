// Event handles (PROTOCOL.md §4.9, §12.3): what FTB_Publish returns and what a type-2 event's
// payload starts with. Built from a published or a received event; compared as FTB does.
#pragma once

#include "common/failure.h"
#include "ftb/wire.h"

namespace crftb::ftb {

// The handle of an event published by `client` from `location` (region/comp_cat/comp from the
// client id, ext 0 — FTB's FTB_Publish).
wire::EventHandle MakeEventHandle(const wire::Event& event, const wire::ClientId& client,
                                  const wire::LocationId& location);

// FTB_Get_event_handle from the fields of a received event: the event space must still parse
// (§10.1), the client name and extension come from the event/source, location = incoming_src.
Failure EventHandleFromReceived(const wire::Event& event, const wire::LocationId& source, uint8_t client_extension,
                                wire::EventHandle* out);

// FTB_Compare_event_handles == FTB_SUCCESS: strings equal ignoring case; ext, pid, seqnum equal.
bool EventHandlesEqual(const wire::EventHandle& a, const wire::EventHandle& b);

}  // namespace crftb::ftb
