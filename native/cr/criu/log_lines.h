// Reading CRIU's log for why a request failed: libcriu reports nearly every failure as EBADE, and
// only the log's "Error (file:line): why" lines say what stood in the way.
#pragma once

#include <string>

namespace crftb::cr::criu {

// The text of the log at `path`, "" when there is none or it cannot be read.
std::string ReadLog(const std::string& path);

// The line of `text` that contains `needle`, from its "Error (" on (no timestamp); "" when none does.
std::string LogLineWith(const std::string& text, const char* needle);

}  // namespace crftb::cr::criu
