// The field list of every wire struct, written once and walked by visitors: the JS codec
// (decode to an object / encode from one), normalisation (zero the bytes FTB leaves undefined)
// and the layout report that test/ftb-codec-layout.test.ts checks against layout-table.json.
// A visitor provides Str(name, FixedString<N>&), Int(name, T&) for integer fields,
// Bytes(name, uint8_t*, size) for payloads and Pad(name, uint8_t*, size) for padding.
#pragma once

#include <string>

#include "ftb/wire.h"

namespace crftb::ftb::wire {

template <class V>
void VisitFields(V& v, const std::string& p, LocationId& x) {
  v.Str(p + "hostname", x.hostname);
  v.Str(p + "pid_starttime", x.pid_starttime);
  v.Int(p + "pid", x.pid);
}

// The event space (region.comp_cat.comp) that both a client's id and an event begin with.
template <class V, class T>
void VisitEventSpace(V& v, const std::string& p, T& x) {
  v.Str(p + "region", x.region);
  v.Str(p + "comp_cat", x.comp_cat);
  v.Str(p + "comp", x.comp);
}

template <class V>
void VisitFields(V& v, const std::string& p, ClientId& x) {
  VisitEventSpace(v, p, x);
  v.Str(p + "client_name", x.client_name);
  v.Int(p + "ext", x.ext);
}

template <class V>
void VisitFields(V& v, const std::string& p, FtbId& x) {
  VisitFields(v, p + "location.", x.location);
  VisitFields(v, p + "client.", x.client);
  v.Pad(p + "padding", x.padding, sizeof(x.padding));
}

template <class V>
void VisitFields(V& v, const std::string& p, Event& x) {
  VisitEventSpace(v, p, x);
  v.Str(p + "event_name", x.event_name);
  v.Str(p + "severity", x.severity);
  v.Str(p + "client_jobid", x.client_jobid);
  v.Str(p + "client_name", x.client_name);
  v.Str(p + "hostname", x.hostname);
  v.Int(p + "seqnum", x.seqnum);
  v.Int(p + "event_type", x.event_type);
  v.Bytes(p + "payload", x.payload, sizeof(x.payload));
  v.Pad(p + "padding", &x.padding, 1);
}

template <class V>
void VisitFields(V& v, const std::string& p, Message& x) {
  v.Int(p + "msg_type", x.msg_type);
  VisitFields(v, p + "src.", x.src);
  VisitFields(v, p + "dst.", x.dst);
  VisitFields(v, p + "event.", x.event);
}

template <class V>
void VisitFields(V& v, const std::string& p, Handshake& x) {
  v.Int(p + "system_id", x.system_id);
  VisitFields(v, p + "location.", x.location);
  VisitFields(v, p + "registration.", x.registration);
}

template <class V>
void VisitFields(V& v, const std::string& p, BootstrapAddr& x) {
  v.Str(p + "name", x.name);
  v.Int(p + "port", x.port);
}

template <class V>
void VisitFields(V& v, const std::string& p, BootstrapPacket& x) {
  v.Int(p + "type", x.type);
  v.Pad(p + "padding1", x.padding1, sizeof(x.padding1));
  VisitFields(v, p + "addr.", x.addr);
  VisitFields(v, p + "parent_addr.", x.parent_addr);
  v.Int(p + "level", x.level);
  v.Pad(p + "padding2", x.padding2, sizeof(x.padding2));
}

template <class V>
void VisitFields(V& v, const std::string& p, EventHandle& x) {
  v.Str(p + "event_name", x.event_name);
  v.Str(p + "severity", x.severity);
  VisitFields(v, p + "client.", x.client);
  v.Pad(p + "padding", &x.padding, 1);
  v.Int(p + "seqnum", x.seqnum);
  VisitFields(v, p + "location.", x.location);
}

// Zeroes every byte FTB leaves undefined inside fields (after string NULs, padding). Message
// kinds whose whole sub-records are undefined (§4.8) are the sender's business, not the codec's.
struct Normalizer {
  template <size_t N>
  void Str(const std::string&, FixedString<N>& s) {
    const size_t n = strnlen(s.bytes, N);
    memset(s.bytes + n, 0, N - n);
  }
  template <class T>
  void Int(const std::string&, T&) {}
  void Bytes(const std::string&, uint8_t*, size_t) {}
  void Pad(const std::string&, uint8_t* p, size_t n) { memset(p, 0, n); }
};

template <class T>
void Normalize(T* value) {
  Normalizer n;
  VisitFields(n, "", *value);
}

}  // namespace crftb::ftb::wire
