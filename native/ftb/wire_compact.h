// crftb's compact frames: the FTB message of wire.h without the bytes FTB 0.6.2 leaves undefined
// or zero, for a connection whose two ends are both crftb and both asked for them. Every
// 1336-byte message carries about 200 significant bytes; on loopback the kernel's copies of the
// rest were most of what a flood cost. Real FTB peers never see a compact frame: they never offer
// one and never answer an offer, so their connections keep FTB's framing byte for byte.
//
// Negotiation, inside FTB's own handshake (§6.2), in bytes FTB defines as undefined (§4.8):
//   - the connector offers: kCompactMark at the start of its registration message's event
//     payload (FTB's agent ignores the event of a handshake registration);
//   - an acceptor that takes the offer writes kCompactMark into the last 16 bytes of the hostname
//     field of the 100-byte location id it answers with (readers stop at the string's NUL).
// Each side switches right after the handshake: the connector once it has read that answer, the
// acceptor for everything it reads after the 1440-byte handshake and writes after its answer.
//
// Frame: u16 length (the whole frame, these two bytes included), then the message's fields in
// wire.h order: int32 msg_type; each string as u8 length + bytes (none of them NUL); the integers as
// stored; the payload as u16 length + bytes with its trailing zero bytes left out (a receiver
// restores them: all 368 payload bytes arrive, §4.5). Padding is zero on arrival. Host byte
// order, as FTB's own frames.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "ftb/wire.h"

namespace crftb::ftb::wire {

constexpr char kCompactMark[16] = "crftb-compact/1";  // 15 characters and the NUL
constexpr size_t kCompactMarkInHostname = sizeof(LocationId::hostname) - sizeof(kCompactMark);

// The connector's side.
void OfferCompact(Message* registration);
bool AcceptsCompact(const LocationId& acceptor);
// The acceptor's side: whether `registration` offers, and `answer` marked as taking the offer
// (false, and `answer` unchanged, when the hostname leaves no room for the mark).
bool OffersCompact(const Message& registration);
bool AcceptCompact(LocationId* answer);

// Smallest and largest frames (every string empty / every string and the payload full); the
// .cc checks both against the field list.
constexpr size_t kCompactMinFrame = 41;
constexpr size_t kCompactMaxFrame = 1353;

// Writes `message` as one frame at `out` (room for kCompactMaxFrame); returns its length.
size_t EncodeCompact(const Message& message, uint8_t* out);

enum class CompactDecode { kMessage, kNeedMore, kMalformed };
// Decodes the frame at the start of `in`: kMessage (`*message` filled, `*used` = its length),
// kNeedMore (the frame is not all here yet; `*used` = its length when known, else 0) or
// kMalformed (a length or field that no encoder writes: the stream cannot be trusted further).
CompactDecode DecodeCompact(const uint8_t* in, size_t available, Message* message, size_t* used);

// What a connection in compact framing (`compact`) or FTB's sends for `message`: the message
// itself, or its compact frame written into `scratch`. Sets *length.
const void* FrameFor(bool compact, const Message& message, uint8_t (&scratch)[kCompactMaxFrame], size_t* length);

// The next message of a stream in compact framing (`compact`) or FTB's, as DecodeCompact answers:
// on kMessage *message points into `in` (an FTB frame) or at `scratch` (a decoded compact one) and
// *used is the frame's length. FTB's framing is never malformed (a type is the router's concern).
CompactDecode NextMessage(bool compact, const uint8_t* in, size_t available, Message* scratch, const Message** message,
                          size_t* used);

}  // namespace crftb::ftb::wire
