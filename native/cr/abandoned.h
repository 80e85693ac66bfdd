// Work that outlives the request it belongs to: an engine that cannot be cancelled finishes on
// a thread of its own after its request was interrupted, and what it leaves is cleaned up there
// (request.cc). The count of such work lets a program that is about to exit (the CLI after
// Ctrl-C) wait until nothing is left half-way.
#pragma once

#include <functional>

namespace crftb::cr {

// Runs `work` on a detached thread (at once on this thread if none can be started).
void RunAbandoned(std::function<void()> work);

// Blocks until no abandoned work runs, or `timeout_ms` passed (< 0: no limit). true when none runs.
bool WaitAbandoned(int timeout_ms);

}  // namespace crftb::cr
