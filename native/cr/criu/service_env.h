// The environment crftb starts CRIU with (the per-request service and the long-lived self-dump
// service alike), prepared before fork: the forked child may only make async-signal-safe calls.
#pragma once

#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace crftb::cr::criu {

// The service's environment: ours without LD_PRELOAD. A preload is meant for the application
// (sanitizer runtimes, profilers, allocators), not for CRIU, which may even run on a libc of its
// own: with `npm run test:asan`'s libasan preloaded, CRIU finished a dump or restore, answered,
// then deadlocked in an exit handler (libp11-kit -> freelocale -> pthread_rwlock_wrlock), so a
// restore never returned and every self-dump left a CRIU process behind. The long-lived
// self-dump service (daemon.h) gets it through its watchdog shell.
class ServiceEnvironment {
 public:
  ServiceEnvironment() {
    static constexpr char kPreload[] = "LD_PRELOAD=";
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
      if (std::strncmp(*entry, kPreload, sizeof kPreload - 1) != 0) entries_.emplace_back(*entry);
    }
    for (std::string& entry : entries_) pointers_.push_back(entry.data());
    pointers_.push_back(nullptr);
  }
  char* const* get() { return pointers_.data(); }

 private:
  std::vector<std::string> entries_;
  std::vector<char*> pointers_;
};

}  // namespace crftb::cr::criu
