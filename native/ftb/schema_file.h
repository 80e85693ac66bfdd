// Schema files for FTB_Declare_publishable_events (PROTOCOL.md §10.5), read directly — never
// through a shell. `#` starts a comment; words are whitespace-separated; blocks are
// `start <event space> (<name> <severity>)* end`.
#pragma once

#include <functional>
#include <string>

#include "common/failure.h"

namespace crftb::ftb {

// Calls `declare(name, severity)` for each entry (its failure ends the parse). Errors:
// FTB_ERR_INVALID_SCHEMA_FILE (unreadable/empty file, no block, event space not the client's,
// end of file inside a block), FTB_ERR_INVALID_FIELD (bad severity).
Failure ParseSchemaFile(const std::string& path, const std::string& own_event_space,
                        const std::function<Failure(const std::string&, const std::string&)>& declare);

}  // namespace crftb::ftb
