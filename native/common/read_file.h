// Reading small files (/proc entries, schema and config files, generation records) through a
// close-on-exec descriptor. std::ifstream opens without O_CLOEXEC, so a child that Node spawns
// while one is open inherits it; the addon reads files through this instead.
#pragma once

#include <stddef.h>

#include <string>

namespace crftb {

// The whole file (at most `limit` bytes) into *out; false when it cannot be opened or read.
bool ReadWholeFile(const std::string& path, std::string* out, size_t limit = 64u << 20);

}  // namespace crftb
