// How long CRIU kept the dumped processes frozen, from the `stats-dump` image it writes beside
// the others: what a service checkpointing itself sees as its pause.
#pragma once

#include <stdint.h>

#include <string>

namespace crftb::cr::criu {

// Microseconds the tasks were frozen (DumpStatsEntry.frozen_time); false when the file is absent
// or not understood.
bool ReadFrozenMicros(const std::string& images_dir, uint64_t* out);

}  // namespace crftb::cr::criu
