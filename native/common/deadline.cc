#include "common/deadline.h"

#include <time.h>

namespace crftb {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int RemainingMs(int64_t deadline_ms) {
  if (deadline_ms == kNoTimeout) return kNoTimeout;
  int64_t left = deadline_ms - NowMs();
  if (left < 0) return 0;
  return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
}

int64_t DeadlineAfter(int timeout_ms) { return timeout_ms < 0 ? kNoTimeout : NowMs() + timeout_ms; }

}  // namespace crftb
