#include "ftb/bootstrap_limits.h"

#include <algorithm>

namespace crftb::ftb {

SourceRateLimiter::SourceRateLimiter(unsigned per_second, size_t max_sources)
    : per_second_(per_second), max_sources_(std::max<size_t>(1, max_sources)) {}

// One request from the bucket that is full at *full_at: false when it holds no token.
bool SourceRateLimiter::Take(double* full_at, double now) const {
  const double interval_ms = 1000.0 / per_second_;
  const double burst_ms = 2 * per_second_ * interval_ms;  // how long an empty bucket takes to fill
  const double from = std::max(*full_at, now);
  // Tokens now: burst − (from − now) / interval; one is needed.
  if (from - now > burst_ms - interval_ms) return false;
  *full_at = from + interval_ms;
  return true;
}

bool SourceRateLimiter::Allow(uint32_t source, int64_t now_ms) {
  if (per_second_ == 0) return true;
  const double now = static_cast<double>(now_ms);
  auto it = full_at_.find(source);
  if (it == full_at_.end()) {
    if (full_at_.size() >= max_sources_) {
      const Entry fullest = *by_fullness_.begin();
      if (fullest.first > now) return Take(&overflow_full_at_, now);
      by_fullness_.erase(by_fullness_.begin());
      full_at_.erase(fullest.second);
    }
    it = full_at_.emplace(source, now).first;
    by_fullness_.emplace(now, source);
  }
  double full_at = it->second;
  if (!Take(&full_at, now)) return false;
  by_fullness_.erase({it->second, source});
  it->second = full_at;
  by_fullness_.emplace(full_at, source);
  return true;
}

}  // namespace crftb::ftb
