// Deadlines as absolute milliseconds on CLOCK_MONOTONIC, so a wait interrupted and resumed
// (EINTR, several polls in a row) still ends when the caller asked, not later.
#pragma once

#include <stdint.h>

namespace crftb {

constexpr int kNoTimeout = -1;

// Milliseconds on CLOCK_MONOTONIC; deadlines are absolute values of this clock.
int64_t NowMs();
// Milliseconds left until `deadline_ms` (≥ 0), or kNoTimeout when deadline_ms is kNoTimeout.
int RemainingMs(int64_t deadline_ms);
int64_t DeadlineAfter(int timeout_ms);  // kNoTimeout stays kNoTimeout

}  // namespace crftb
