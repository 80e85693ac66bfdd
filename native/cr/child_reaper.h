// Restored processes that an engine makes children of this process (BLCR's libcr forks them
// from the requester) must be waited for, or each one that ends stays a zombie: libuv reaps only
// the children it spawned itself.
#pragma once
#include <napi.h>
#include <sys/types.h>

namespace crftb::cr {

// Waits for `pid` (a child of this process) on a thread of its own and returns a promise of its
// end: { code, signal } (exit code or signal number; the other null; both null when it could not
// be waited for). It never rejects. The wait never keeps the event loop alive, and a
// child that ends after this environment is gone is still reaped.
Napi::Promise WatchRestoredChild(Napi::Env env, pid_t pid);

}  // namespace crftb::cr
