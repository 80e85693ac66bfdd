// Open files that can make a checkpoint unrestorable later. An engine records the size of every
// regular file a process holds open and refuses to restore when the file has another size by
// then (CRIU: "has bad size"): files are never rolled back. A file opened write-only for
// appending is the exception (its owner only adds at the end). Anything else that keeps being
// written after the checkpoint - a log opened with 'w', a database - makes this checkpoint fail
// to restore after a crash, so the result says which files those are.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace crftb::cr {

struct OpenFile {
  pid_t pid = 0;
  int fd = -1;
  std::string path;
};

// The regular files the processes hold open other than write-only appends (and other than what
// lies below `ignore_below`, the images directory itself).
std::vector<OpenFile> FilesThatMustNotChange(const std::vector<pid_t>& pids, const std::string& ignore_below);

}  // namespace crftb::cr
