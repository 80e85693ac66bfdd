// Request rate per source address for the bootstrap server: a token bucket for each IPv4 source.
// A request over the rate gets no reply, as if lost; FTB requesters re-send on their own schedule
// (100 ms, 400 ms, ...).
//
// UDP source addresses may be forged, so the table of sources is itself bounded, and forgetting
// a source must not refill it: a forgotten source would come back with a full bucket, so spraying
// forged sources between two requests of a flooder would reset its budget (what forgetting the
// least recently seen source allowed). When the table is full, a new source takes the place of
// one whose bucket has filled up again (forgetting it gives nothing away); when there is none,
// every source without a place shares one more bucket of the same size. So a source gets at most
// its own budget, plus what it wins of that shared one.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <set>
#include <unordered_map>
#include <utility>

namespace crftb::ftb {

class SourceRateLimiter {
 public:
  // per_second = 0: no limit. A source may burst to 2 × per_second requests.
  SourceRateLimiter(unsigned per_second, size_t max_sources);
  bool Allow(uint32_t source, int64_t now_ms);

 private:
  // A bucket is the moment it will be full again: it holds burst − (full_at − now) × rate tokens
  // (burst once full_at has passed), and a request moves full_at one interval later. Ordering
  // sources by full_at orders them by the tokens they hold, at any moment.
  using Entry = std::pair<double, uint32_t>;  // full_at_ms, source
  const unsigned per_second_;
  const size_t max_sources_;
  std::unordered_map<uint32_t, double> full_at_;
  std::set<Entry> by_fullness_;  // fullest first
  double overflow_full_at_ = 0;  // the shared bucket of sources the table has no place for
  bool Take(double* full_at, double now) const;
};

}  // namespace crftb::ftb
