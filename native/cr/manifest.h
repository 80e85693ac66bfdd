// The checksum manifest of a checkpoint: written when a generation of images is committed, checked
// before anything is restored from it, so a truncated or altered image is refused with EBADMSG
// naming the file instead of being handed to the engine (which may restore a subtly wrong process
// or crash half-way through).
//
// The file is `crftb-manifest` (mode 0600) inside the generation directory, one line per regular
// file: "<checksum hex> <size> <name>", after a first line naming the checksum:
//   "crftb-manifest 3 xxh3-128/64MiB" as written now (32 hex digits): a file of at most 64 MiB
//     has the XXH3-128 of its bytes (common/xxh128.h), a larger one the XXH3-128 of its 64 MiB
//     segments' XXH3-128 digests, concatenated in order (16 bytes each, as xxhsum prints them);
//     so the segments of a large image (a process' memory) are hashed in parallel on the
//     caller's path: at 1 GiB, that was most of what a checkpoint spent after CRIU;
//   "crftb-manifest 2 xxh3-128": the XXH3-128 of every file's bytes, as crftb wrote before;
//   "crftb-manifest 1": SHA-256 (64 hex digits), as earlier versions wrote and
//     CRFTB_MANIFEST_SHA256=1 still writes (for checking images with sha256sum).
// All three are verified; any other first line is refused (EBADMSG). Engine logs (*.log)
// are not images and are left out, as is what a restore writes there (stats-restore). An
// incremental generation's parent (the "parent" link) is verified the same way, down the chain.
// This detects accidents (a full disk, a half-copied directory, bit rot), not an attacker who can
// rewrite the manifest too: images are protected by their 0700 directory, not by this file.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "common/failure.h"

namespace crftb::cr {

constexpr const char* kManifestFile = "crftb-manifest";

// Whether a file of a generation is an image (not an engine log, a restore's statistics, or one
// of crftb's own files): what the manifest covers and what a result lists.
bool IsImageFile(const std::string& name);

// Hashes every regular file of `dir` (but logs) into `dir`/crftb-manifest, atomically.
Failure WriteManifest(const std::string& dir);

// Verifying a generation comes in two halves, so that a restart can compare the checksums while
// the engine restores: the layout first (quick), then the bytes. Both fail with EBADMSG naming
// the first file that is missing, extra, of the wrong size or the wrong checksum (or the
// manifest itself when it is missing or unreadable); ENOENT when `dir` itself is missing.

// The checksums still to compare once the layout of a generation (and of its parents) checked out.
struct PendingChecksums {
  enum class Kind { kSha256, kXxh128, kXxh128Segments };
  struct Image {
    std::string dir;
    std::string name;
    std::string hash;  // as the manifest lists it
    unsigned long long size = 0;
    Kind kind = Kind::kXxh128Segments;
  };
  std::vector<Image> images;
};

// Everything but the bytes: the manifest is readable, every listed image is
// there with its listed size, nothing else is (no symlink, device, fifo or unlisted file), down
// the parent chain. Quick: no image is read. *pending is what is left to compare.
Failure CheckManifestLayout(const std::string& dir, PendingChecksums* pending);
// Reads every image of `pending` and compares its checksum: EBADMSG naming the first that differs.
Failure VerifyChecksums(const PendingChecksums& pending);

// The version 3 checksum of `size` bytes in memory (hex), for tools and tests.
std::string SegmentedXxh128(const uint8_t* data, size_t size);

}  // namespace crftb::cr
