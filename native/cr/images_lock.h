// One checkpoint at a time into one dir: the second fails fast with EAGAIN (it passes: retry it)
// instead of deleting the generation the first is still writing. The lock is the file
// <dir>.gens/lock holding "<pid> <start time> <nonce>" of its holder, published in one step
// (linked from a private file, so no request ever reads a lock without its token), rather than a
// flock on an open descriptor: a self-checkpoint would carry such a descriptor (and its lock) into
// the images and restore it. A lock whose holder is gone (pid dead or reused: other start time) is stale and
// taken over; a restored copy, which remembers its original's lock, never removes another's.
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr {

class ImagesLock {
 public:
  ImagesLock() = default;
  ImagesLock(ImagesLock&& other) noexcept { *this = std::move(other); }
  ImagesLock& operator=(ImagesLock&& other) noexcept;
  ~ImagesLock() { Release(); }

  // `gens_fd`: the trusted <dir>.gens (trusted_path.h); `gens`: its path, for messages and Release.
  // EAGAIN naming the holder when another live request holds it.
  static Failure Acquire(int gens_fd, const std::string& gens, const std::string& dir, ImagesLock* out);
  // Removes the lock file if it is still this request's; idempotent.
  void Release();

 private:
  std::string gens_;
  std::string token_;
};

}  // namespace crftb::cr
