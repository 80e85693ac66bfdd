#include "cr/criu/dump_stats.h"

#include "common/read_file.h"

namespace crftb::cr::criu {

namespace {

// The image layout: two 32-bit magics, a 32-bit little-endian length, then one StatsEntry
// message whose field 1 (`dump`) is a DumpStatsEntry; its field 2 is frozen_time (varint, µs).
constexpr size_t kHeader = 8;

bool Varint(const std::string& data, size_t* at, uint64_t* out) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64 && *at < data.size(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(data[(*at)++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *out = value;
      return true;
    }
  }
  return false;
}

// Walks the fields of the message data[begin, end); finds `field` of wire type `type`: for a
// varint, its value in *value; for a length-delimited one, its bounds in *begin / *end.
bool FindField(const std::string& data, size_t* begin, size_t* end, uint64_t field, int type, uint64_t* value) {
  size_t at = *begin;
  while (at < *end) {
    uint64_t key = 0;
    if (!Varint(data, &at, &key)) return false;
    const int wire = static_cast<int>(key & 7);
    uint64_t v = 0;
    if (wire == 0) {
      if (!Varint(data, &at, &v)) return false;
      if ((key >> 3) == field && type == 0) {
        *value = v;
        return true;
      }
    } else if (wire == 2) {
      if (!Varint(data, &at, &v) || v > *end - at) return false;
      if ((key >> 3) == field && type == 2) {
        *begin = at;
        *end = at + v;
        return true;
      }
      at += v;
    } else if (wire == 5) {
      at += 4;
    } else if (wire == 1) {
      at += 8;
    } else {
      return false;
    }
  }
  return false;
}

}  // namespace

bool ReadFrozenMicros(const std::string& images_dir, uint64_t* out) {
  std::string data;
  if (!ReadWholeFile(images_dir + "/stats-dump", &data, 1 << 16) || data.size() < kHeader + 4) return false;
  const uint32_t length = static_cast<uint8_t>(data[8]) | static_cast<uint8_t>(data[9]) << 8 |
                          static_cast<uint8_t>(data[10]) << 16 |
                          static_cast<uint32_t>(static_cast<uint8_t>(data[11])) << 24;
  size_t begin = kHeader + 4, end = begin + length;
  if (end > data.size()) return false;
  uint64_t unused = 0;
  if (!FindField(data, &begin, &end, 1, 2, &unused)) return false;
  return FindField(data, &begin, &end, 2, 0, out);
}

}  // namespace crftb::cr::criu
