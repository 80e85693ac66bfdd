// Where a checkpoint's images go, so that a failed checkpoint never damages the last good one.
//
// A checkpoint "dir" D is a symlink that crftb owns, pointing at a generation directory
// D.gens/<n> (mode 0700: images hold the whole memory of the process). Each checkpoint writes a
// new generation; only on success is D re-pointed (rename of a new symlink over D: atomic), and
// the generations the new one does not need are removed. An incremental generation names its
// parent as "../<n-1>" (CRIU's parent-images link), so the chain stays on disk while it is used.
// A checkpoint "file" F is written as F.tmp-<pid> and renamed over F on success.
//
// Trust: D, D.gens and every generation must belong to the caller's effective uid and be
// writable by nobody else (trusted_path.h), or they are refused with EPERM; generations are made
// with mkdir (exclusive) and opened without following symlinks. One checkpoint at a time writes
// into D (images_lock.h). Nothing restored from a generation runs before its manifest checks out
// (the restart verifies it while the engine restores, request.cc), and nothing inside the
// generation can switch that check off: a generation reached through a crftb link always
// needs its manifest (manifest.h also refuses symlinks, devices and unlisted files).
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/failure.h"
#include "cr/engine.h"
#include "cr/images_lock.h"
#include "cr/manifest.h"

namespace crftb::cr {

struct Generation {
  std::string link;    // D (or F)
  std::string path;    // the directory (or temp file) the engine writes
  std::string parent;  // "../<n>" when incremental over the previous generation, else ""
  bool is_file = false;
  unsigned number = 0;
  ImagesLock lock;  // held from PrepareDirectory until the generation is committed or removed
};

// Creates the next generation for D, after removing what earlier failed or abandoned attempts
// left above the current one. With `incremental`, the previous generation becomes the parent
// when it recorded the same `root` pid and asked for memory tracking. EPERM for an untrusted D,
// D.gens or generation; EAGAIN while another checkpoint writes into D.
Failure PrepareDirectory(const std::string& dir, bool incremental, pid_t root, Generation* out);
Failure PrepareFile(const std::string& file, Generation* out);

// What a generation records about itself (file crftb-generation, 0600, beside its images).
struct GenerationRecord {
  pid_t root = 0;
  bool track_memory = false;  // the next checkpoint can be incremental over this one
  std::vector<pid_t> pids;    // every checkpointed process: a restore needs these pids free
  EngineTuning tuning;        // how it was dumped: a restart restores it the same way
};

// Points D at the generation (or renames the temp file into place) and drops what is no longer
// needed. The images' checksum manifest is written first, so D never points at images without
// one.
Failure Commit(Generation& generation, const GenerationRecord& record);

// The record of the generation in `dir` (false when crftb did not write it).
bool ReadGenerationRecord(const std::string& dir, GenerationRecord* out);

// How long a restore waits for the pids it needs to be reaped. A process killed after its
// checkpoint is dead at once but holds its pid as a zombie until its parent reaps it; when that
// parent died too (a launcher's children, reparented to init), init may take seconds. Only
// zombies are waited for: a pid held by a running process fails at once.
struct ReapWait {
  int ms = 0;                         // 0 = do not wait
  std::function<bool()> interrupted;  // checked between polls: stop waiting when true
};

// Before a restore from `dir`: it is trusted (EPERM), its manifest's layout checks out (EBADMSG
// naming the file: manifest.h CheckManifestLayout) and none of the processes it restores is
// alive: EBUSY naming a running one; EAGAIN (retryable) naming a zombie still not reaped after
// waiting up to `reap.ms`. *checksums is then what must still match (manifest.h VerifyChecksums)
// before anything restored may run: always set for a generation crftb wrote or reached through
// crftb's link, whatever the directory holds; a plain directory holding no crftb file (images of
// the criu CLI) is left to the engine (unset). Then
// `log` (the engine's log, "" = none) is made afresh inside it as a new regular file, so the
// engine never writes through something planted there. *images is the generation directory.
// *recorded says whether crftb wrote the generation, then *record is what it recorded.
Failure CheckRestorable(const std::string& dir, const std::string& log, std::string* images, GenerationRecord* record,
                        bool* recorded, std::optional<PendingChecksums>* checksums, const ReapWait& reap = {});

// Removes what a failed checkpoint wrote, except the engine's log, and releases D's lock.
void Abandon(Generation& generation);

struct ImageFiles {
  std::vector<std::string> files;  // names inside the generation directory
  unsigned long long bytes = 0;
};
ImageFiles ListImages(const std::string& path);

}  // namespace crftb::cr
