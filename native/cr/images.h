// Where a checkpoint's images go, so that a failed checkpoint never damages the last good one.
//
// A checkpoint "dir" D is a symlink that crftb owns, pointing at a generation directory
// D.gens/<n> (mode 0700: images hold the whole memory of the process). Each checkpoint writes a
// new generation; only on success is D re-pointed (rename of a new symlink over D: atomic), and
// the generations the new one does not need are removed. An incremental generation names its
// parent as "../<n-1>" (CRIU's parent-images link), so the chain stays on disk while it is used.
// A checkpoint "file" F is written as F.tmp-<pid> and renamed over F on success.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.h"

namespace crftb::cr {

struct Generation {
  std::string link;      // D (or F)
  std::string path;      // the directory (or temp file) the engine writes
  std::string parent;    // "../<n>" when incremental over the previous generation, else ""
  bool is_file = false;
  unsigned number = 0;
};

// Creates the next generation for D. With `incremental`, the previous generation becomes the
// parent when it recorded the same `root` pid and asked for memory tracking.
Failure PrepareDirectory(const std::string& dir, bool incremental, pid_t root, Generation* out);
Failure PrepareFile(const std::string& file, Generation* out);

// What a generation records about itself (file crftb-generation, 0600, beside its images).
struct GenerationRecord {
  pid_t root = 0;
  bool track_memory = false;      // the next checkpoint can be incremental over this one
  std::vector<pid_t> pids;        // every checkpointed process: a restore needs these pids free
  bool manifest = true;           // a checksum manifest was written (not for a self-kill dump,
                                  // committed before its images exist)
};

// Points D at the generation (or renames the temp file into place) and drops what is no longer
// needed. With `record.manifest`, the images are complete: their checksum manifest is written
// first, so D never points at images without one.
Failure Commit(const Generation& generation, const GenerationRecord& record);

// The record of the generation in `dir` (false when crftb did not write it).
bool ReadGenerationRecord(const std::string& dir, GenerationRecord* out);

// Before a restore from `dir`: its images match their manifest (EBADMSG naming the file if not)
// and none of the processes it restores is alive (EBUSY naming the pid). Images crftb did not
// write are left to the engine.
Failure CheckRestorable(const std::string& dir);

// Removes what a failed checkpoint wrote, except the engine's log.
void Abandon(const Generation& generation);

struct ImageFiles {
  std::vector<std::string> files;  // names inside the generation directory
  unsigned long long bytes = 0;
};
ImageFiles ListImages(const std::string& path);

}  // namespace crftb::cr
