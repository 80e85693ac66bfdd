// Request rate per source address for the bootstrap server: a token bucket for each IPv4 source
// (UDP, so the address may be forged: the table of sources is itself bounded, least recently
// seen forgotten first). A request over the rate gets no reply, as if lost; FTB requesters
// re-send on their own schedule (100 ms, 400 ms, ...).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <list>
#include <unordered_map>

namespace crftb::ftb {

class SourceRateLimiter {
 public:
  // per_second = 0: no limit. A source may burst to 2 × per_second requests.
  SourceRateLimiter(unsigned per_second, size_t max_sources);
  bool Allow(uint32_t source, int64_t now_ms);

 private:
  struct Bucket {
    double tokens;
    int64_t refilled_ms;
    std::list<uint32_t>::iterator recent;
  };
  const unsigned per_second_;
  const size_t max_sources_;
  std::unordered_map<uint32_t, Bucket> buckets_;
  std::list<uint32_t> recent_;  // most recently seen first
};

}  // namespace crftb::ftb
