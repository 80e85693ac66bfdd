#include "ftb/event_handle.h"

#include "ftb/names.h"
#include "ftb/wire_fields.h"

namespace crftb::ftb {

wire::EventHandle MakeEventHandle(const wire::Event& event, const wire::ClientId& client,
                                  const wire::LocationId& location) {
  wire::EventHandle handle;
  memset(&handle, 0, sizeof(handle));
  handle.event_name = event.event_name;
  handle.severity = event.severity;
  handle.client = client;
  handle.client.ext = 0;
  handle.seqnum = event.seqnum;
  handle.location = location;
  return handle;
}

Failure EventHandleFromReceived(const wire::Event& event, const wire::LocationId& source, uint8_t client_extension,
                                wire::EventHandle* out) {
  EventSpace space;
  Failure bad = ParseEventSpace(event.region.get() + "." + event.comp_cat.get() + "." + event.comp.get(), &space);
  if (!bad.ok()) return bad;
  wire::EventHandle handle;
  memset(&handle, 0, sizeof(handle));
  handle.event_name = event.event_name;
  handle.severity = event.severity;
  handle.client.region = event.region;
  handle.client.comp_cat = event.comp_cat;
  handle.client.comp = event.comp;
  handle.client.client_name = event.client_name;
  handle.client.ext = client_extension;
  handle.seqnum = event.seqnum;
  handle.location = source;
  wire::Normalize(&handle);
  *out = handle;
  return Failure::None();
}

bool EventHandlesEqual(const wire::EventHandle& a, const wire::EventHandle& b) {
  return SameField(a.client.region, b.client.region) && SameField(a.client.comp_cat, b.client.comp_cat) &&
         SameField(a.client.comp, b.client.comp) && SameField(a.client.client_name, b.client.client_name) &&
         SameField(a.location.hostname, b.location.hostname) &&
         SameField(a.location.pid_starttime, b.location.pid_starttime) && SameField(a.event_name, b.event_name) &&
         SameField(a.severity, b.severity) && a.client.ext == b.client.ext && a.location.pid == b.location.pid &&
         a.seqnum == b.seqnum;
}

}  // namespace crftb::ftb
