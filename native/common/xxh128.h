// XXH3-128 (xxHash 0.8, native/third_party/xxhash): the checkpoint manifest's checksum of every
// image file (native/cr/manifest.h). The manifest guards against accidents - a full disk, a
// half-copied directory, bit rot - not against someone who can rewrite it too, so a fast,
// well-distributed 128-bit checksum is what it needs: about 6x faster than SHA-256 with SHA-NI on
// the images of a checkpoint, close to the speed at which they can be read back. Checked against
// known answers of `xxhsum -H2` by test/common-xxh128.test.ts.
#pragma once

#include <stddef.h>

#include <string>

namespace crftb {

// "avx2" (xxh128_avx2.h) or "portable" (SSE2 on x86-64): which code this process hashes with.
const char* Xxh128Implementation();

class Xxh128 {
 public:
  Xxh128();
  ~Xxh128();
  Xxh128(const Xxh128&) = delete;
  Xxh128& operator=(const Xxh128&) = delete;
  void Update(const void* data, size_t size);
  // The digest as xxhsum prints it (32 lowercase hex digits, canonical big-endian order).
  std::string HexFinal();

 private:
  struct State;
  State* state_;
};

}  // namespace crftb
