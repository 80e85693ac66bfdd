// The checksum manifest of a checkpoint: written when a generation of images is committed, checked
// before anything is restored from it, so a truncated or altered image is refused with EBADMSG
// naming the file instead of being handed to the engine (which may restore a subtly wrong process
// or crash half-way through).
//
// The file is `crftb-manifest` (mode 0600) inside the generation directory, one line per regular
// file: "<checksum hex> <size> <name>", after a first line naming the checksum: "crftb-manifest 2
// xxh3-128" (32 hex digits, common/xxh128.h) as written now, or "crftb-manifest 1" (SHA-256, 64
// hex digits) as earlier versions wrote and CRFTB_MANIFEST_SHA256=1 still writes; both are
// verified, any other first line is refused (EBADMSG). Engine logs (*.log)
// are not images and are left out, as is what a restore writes there (stats-restore). An
// incremental generation's parent (the "parent" link) is verified the same way, down the chain.
// This detects accidents (a full disk, a half-copied directory, bit rot), not an attacker who can
// rewrite the manifest too: images are protected by their 0700 directory, not by this file.
#pragma once

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
  enum class Kind { kSha256, kXxh128 };
  struct Image {
    std::string dir;
    std::string name;
    std::string hash;  // as the manifest lists it
    unsigned long long size = 0;
    Kind kind = Kind::kXxh128;
  };
  std::vector<Image> images;
};

// Everything but the bytes: the manifest is readable, every listed image is
// there with its listed size, nothing else is (no symlink, device, fifo or unlisted file), down
// the parent chain. Quick: no image is read. *pending is what is left to compare.
Failure CheckManifestLayout(const std::string& dir, PendingChecksums* pending);
// Reads every image of `pending` and compares its checksum: EBADMSG naming the first that differs.
Failure VerifyChecksums(const PendingChecksums& pending);

}  // namespace crftb::cr
