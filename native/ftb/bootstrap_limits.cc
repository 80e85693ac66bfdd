#include "ftb/bootstrap_limits.h"

#include <algorithm>

namespace crftb::ftb {

SourceRateLimiter::SourceRateLimiter(unsigned per_second, size_t max_sources)
    : per_second_(per_second), max_sources_(std::max<size_t>(1, max_sources)) {}

bool SourceRateLimiter::Allow(uint32_t source, int64_t now_ms) {
  if (per_second_ == 0) return true;
  const double burst = 2.0 * per_second_;
  auto it = buckets_.find(source);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_sources_) {
      buckets_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(source);
    it = buckets_.emplace(source, Bucket{burst, now_ms, recent_.begin()}).first;
  } else {
    recent_.splice(recent_.begin(), recent_, it->second.recent);
  }
  Bucket& bucket = it->second;
  bucket.tokens = std::min(burst, bucket.tokens + (now_ms - bucket.refilled_ms) * per_second_ / 1000.0);
  bucket.refilled_ms = now_ms;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

}  // namespace crftb::ftb
