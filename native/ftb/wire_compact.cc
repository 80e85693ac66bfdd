#include "ftb/wire_compact.h"

#include <string.h>

namespace crftb::ftb::wire {
namespace {

// The one list of a message's fields in frame order, walked by the encoder, the decoder and the
// size bounds alike (M is Message or const Message).
template <class Visitor, class L>
constexpr void VisitLocation(Visitor& v, L& location) {
  v.Text(location.hostname);
  v.Text(location.pid_starttime);
  v.Number(location.pid);
}

template <class Visitor, class C>
constexpr void VisitClient(Visitor& v, C& client) {
  v.Text(client.region);
  v.Text(client.comp_cat);
  v.Text(client.comp);
  v.Text(client.client_name);
  v.Number(client.ext);
}

template <class Visitor, class E>
constexpr void VisitEvent(Visitor& v, E& event) {
  v.Text(event.region);
  v.Text(event.comp_cat);
  v.Text(event.comp);
  v.Text(event.event_name);
  v.Text(event.severity);
  v.Text(event.client_jobid);
  v.Text(event.client_name);
  v.Text(event.hostname);
  v.Number(event.seqnum);
  v.Number(event.event_type);
  v.Payload(event.payload);
}

template <class Visitor, class M>
constexpr void VisitMessage(Visitor& v, M& message) {
  v.Number(message.msg_type);
  VisitLocation(v, message.src.location);
  VisitClient(v, message.src.client);
  VisitLocation(v, message.dst.location);
  VisitClient(v, message.dst.client);
  VisitEvent(v, message.event);
}

using FrameLength = uint16_t;

class Writer {
 public:
  explicit Writer(uint8_t* at) : at_(at) {}
  template <size_t N>
  void Text(const FixedString<N>& s) {
    const size_t n = strnlen(s.bytes, N);
    *at_++ = static_cast<uint8_t>(n);
    memcpy(at_, s.bytes, n);
    at_ += n;
  }
  template <class T>
  void Number(const T& value) {
    memcpy(at_, &value, sizeof value);
    at_ += sizeof value;
  }
  void Payload(const uint8_t (&payload)[kPayloadSize]) {
    // Most payloads are short: skip the zero tail eight bytes at a time.
    static_assert(kPayloadSize % sizeof(uint64_t) == 0);
    uint16_t n = kPayloadSize;
    for (uint64_t word; n > 0; n -= sizeof word) {
      memcpy(&word, payload + n - sizeof word, sizeof word);
      if (word != 0) break;
    }
    while (n > 0 && payload[n - 1] == 0) --n;
    Number(n);
    memcpy(at_, payload, n);
    at_ += n;
  }
  uint8_t* at() const { return at_; }

 private:
  uint8_t* at_;
};

// Reads into a zeroed message; any length past its field or the frame marks the frame bad.
class Reader {
 public:
  Reader(const uint8_t* at, const uint8_t* end) : at_(at), end_(end) {}
  template <size_t N>
  void Text(FixedString<N>& s) {
    static_assert(N <= UINT8_MAX);
    if (!Take(1)) return;
    const size_t n = at_[-1];
    // A NUL inside would hide the rest from readers: no encoder writes one (strnlen).
    if (n > N || !Take(n) || memchr(at_ - n, 0, n) != nullptr) {
      ok_ = false;
      return;
    }
    memcpy(s.bytes, at_ - n, n);
  }
  template <class T>
  void Number(T& value) {
    if (Take(sizeof value)) memcpy(&value, at_ - sizeof value, sizeof value);
  }
  void Payload(uint8_t (&payload)[kPayloadSize]) {
    uint16_t n = 0;
    Number(n);
    if (!ok_ || n > kPayloadSize || !Take(n)) {
      ok_ = false;
      return;
    }
    memcpy(payload, at_ - n, n);
  }
  bool done() const { return ok_ && at_ == end_; }

 private:
  bool Take(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - at_) < n) return ok_ = false;
    at_ += n;
    return true;
  }
  const uint8_t* at_;
  const uint8_t* const end_;
  bool ok_ = true;
};

// Frame length with every string (and the payload) empty, or full.
class Bound {
 public:
  constexpr explicit Bound(bool full) : full_(full) {}
  template <size_t N>
  constexpr void Text(const FixedString<N>&) {
    bytes_ += 1 + (full_ ? N : 0);
  }
  template <class T>
  constexpr void Number(const T&) {
    bytes_ += sizeof(T);
  }
  constexpr void Payload(const uint8_t (&)[kPayloadSize]) { bytes_ += sizeof(uint16_t) + (full_ ? kPayloadSize : 0); }
  constexpr size_t bytes() const { return bytes_; }

 private:
  const bool full_;
  size_t bytes_ = sizeof(FrameLength);
};

constexpr size_t FrameBound(bool full) {
  const Message shape{};
  Bound bound(full);
  VisitMessage(bound, shape);
  return bound.bytes();
}

static_assert(FrameBound(false) == kCompactMinFrame && FrameBound(true) == kCompactMaxFrame);
static_assert(kCompactMaxFrame <= UINT16_MAX);

}  // namespace

void OfferCompact(Message* registration) { memcpy(registration->event.payload, kCompactMark, sizeof kCompactMark); }

bool OffersCompact(const Message& registration) {
  return memcmp(registration.event.payload, kCompactMark, sizeof kCompactMark) == 0;
}

bool AcceptCompact(LocationId* answer) {
  if (strnlen(answer->hostname.bytes, sizeof answer->hostname.bytes) >= kCompactMarkInHostname) return false;
  memcpy(answer->hostname.bytes + kCompactMarkInHostname, kCompactMark, sizeof kCompactMark);
  return true;
}

bool AcceptsCompact(const LocationId& acceptor) {
  return strnlen(acceptor.hostname.bytes, sizeof acceptor.hostname.bytes) < kCompactMarkInHostname &&
         memcmp(acceptor.hostname.bytes + kCompactMarkInHostname, kCompactMark, sizeof kCompactMark) == 0;
}

size_t EncodeCompact(const Message& message, uint8_t* out) {
  Writer writer(out + sizeof(FrameLength));
  VisitMessage(writer, message);
  const auto length = static_cast<FrameLength>(writer.at() - out);
  memcpy(out, &length, sizeof length);
  return length;
}

CompactDecode DecodeCompact(const uint8_t* in, size_t available, Message* message, size_t* used) {
  *used = 0;
  if (available < sizeof(FrameLength)) return CompactDecode::kNeedMore;
  FrameLength length;
  memcpy(&length, in, sizeof length);
  if (length < kCompactMinFrame || length > kCompactMaxFrame) return CompactDecode::kMalformed;
  *used = length;
  if (available < length) return CompactDecode::kNeedMore;
  memset(message, 0, sizeof *message);
  Reader reader(in + sizeof(FrameLength), in + length);
  VisitMessage(reader, *message);
  return reader.done() ? CompactDecode::kMessage : CompactDecode::kMalformed;
}

const void* FrameFor(bool compact, const Message& message, uint8_t (&scratch)[kCompactMaxFrame], size_t* length) {
  if (!compact) {
    *length = sizeof message;
    return &message;
  }
  *length = EncodeCompact(message, scratch);
  return scratch;
}

CompactDecode NextMessage(bool compact, const uint8_t* in, size_t available, Message* scratch, const Message** message,
                          size_t* used) {
  if (compact) {
    const CompactDecode outcome = DecodeCompact(in, available, scratch, used);
    *message = scratch;
    return outcome;
  }
  *used = sizeof(Message);
  if (available < sizeof(Message)) return CompactDecode::kNeedMore;
  *message = reinterpret_cast<const Message*>(in);
  return CompactDecode::kMessage;
}

}  // namespace crftb::ftb::wire
