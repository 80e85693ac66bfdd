// FTB 0.6.2 wire layouts (x86_64, host byte order), PROTOCOL.md §4–§6.
// This header is the single definition of every byte that crosses an FTB socket; the client,
// the agent and the bootstrap server all encode and decode through it. The structs mirror the
// C layouts FTB sends as raw memory images, so each size and offset is pinned by static_assert
// here and by test/ftb-codec-layout.test.ts against the table in native/ftb/layout-table.json.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string>

namespace crftb::ftb::wire {

constexpr uint32_t kSystemId = 1;
constexpr size_t kPayloadSize = 368;
constexpr int kDefaultAgentPort = 10809;
constexpr int kDefaultBootstrapPort = 14455;

// Fixed-size, NUL-terminated string fields. Writers zero-fill; readers stop at the first NUL
// (or at the field end when a peer filled it completely) and ignore what follows.
template <size_t N>
struct FixedString {
  char bytes[N];

  std::string get() const { return std::string(bytes, strnlen(bytes, N)); }
  // Returns false (and stores nothing) when `value` does not fit with its NUL.
  bool set(const std::string& value) {
    if (value.size() >= N) return false;
    memset(bytes, 0, N);
    memcpy(bytes, value.data(), value.size());
    return true;
  }
  static constexpr size_t capacity() { return N - 1; }
};

struct LocationId {  // §4.2
  FixedString<64> hostname;
  FixedString<32> pid_starttime;
  int32_t pid;
};

struct ClientId {  // §4.3
  FixedString<64> region;
  FixedString<64> comp_cat;
  FixedString<64> comp;
  FixedString<16> client_name;
  uint8_t ext;
};

struct FtbId {  // §4.4
  LocationId location;
  ClientId client;
  uint8_t padding[3];
};

struct Event {  // §4.5 — an event, or a subscription mask (strings may be "all")
  FixedString<64> region;
  FixedString<64> comp_cat;
  FixedString<64> comp;
  FixedString<32> event_name;
  FixedString<16> severity;
  FixedString<16> client_jobid;
  FixedString<16> client_name;
  FixedString<64> hostname;
  uint16_t seqnum;
  uint8_t event_type;
  uint8_t payload[kPayloadSize];
  uint8_t padding;
};

enum MsgType : int32_t {  // §5.1
  kNotify = 0x01,
  kClientReg = 0x11,
  kClientDereg = 0x12,
  kCleanupConn = 0x13,  // agent-internal in FTB; never sent, and never honoured from the wire
  kRegPublishableEvent = 0x21,
  kRegSubscription = 0x22,
  kPublishableEventRegCancel = 0x23,
  kSubscriptionCancel = 0x24,
};

struct Message {  // §4.6 — every TCP message after the handshake
  int32_t msg_type;
  FtbId src;
  FtbId dst;
  Event event;
};

struct Handshake {  // §6.2 — what the connecting side writes first
  uint32_t system_id;
  LocationId location;
  Message registration;
};

enum BootstrapType : uint8_t {  // §5.2
  kAddrReq = 1,
  kAddrRep = 2,
  kRegReq = 3,
  kRegRep = 4,
  kDeregReq = 5,
  kDeregRep = 6,
  kConnFail = 7,
  kRegInvalid = 10,
};

struct BootstrapAddr {
  FixedString<64> name;
  int32_t port;
};

struct BootstrapPacket {  // §4.7 — every UDP datagram
  uint8_t type;
  uint8_t padding1[3];
  BootstrapAddr addr;
  BootstrapAddr parent_addr;
  uint16_t level;
  uint8_t padding2[2];
};

struct EventHandle {  // §4.9 — travels inside type-2 payloads (BLCR's END/ERROR events)
  FixedString<32> event_name;
  FixedString<16> severity;
  ClientId client;
  uint8_t padding;
  uint16_t seqnum;
  LocationId location;
};

static_assert(sizeof(LocationId) == 100 && offsetof(LocationId, pid) == 96);
static_assert(sizeof(ClientId) == 209 && offsetof(ClientId, ext) == 208);
static_assert(sizeof(FtbId) == 312 && offsetof(FtbId, client) == 100);
static_assert(sizeof(Event) == 708 && offsetof(Event, seqnum) == 336 && offsetof(Event, event_type) == 338 &&
              offsetof(Event, payload) == 339);
static_assert(sizeof(Message) == 1336 && offsetof(Message, src) == 4 && offsetof(Message, dst) == 316 &&
              offsetof(Message, event) == 628);
static_assert(sizeof(Handshake) == 1440);
static_assert(sizeof(BootstrapPacket) == 144 && offsetof(BootstrapPacket, addr) == 4 &&
              offsetof(BootstrapPacket, parent_addr) == 72 && offsetof(BootstrapPacket, level) == 140);
static_assert(sizeof(EventHandle) == 360 && offsetof(EventHandle, seqnum) == 258 &&
              offsetof(EventHandle, location) == 260);
static_assert(kPayloadSize >= sizeof(EventHandle) + sizeof(int32_t),
              "an ERROR payload is a handle followed by a 4-byte errno");

}  // namespace crftb::ftb::wire
