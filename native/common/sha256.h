// SHA-256 (FIPS 180-4), small and dependency-free: version 1 checkpoint manifests (written by crftb
// before XXH3-128, and with CRFTB_MANIFEST_SHA256=1) hash every image file with it
// (native/cr/manifest.h). Uses the x86 SHA extensions when the CPU has them (image files
// are large and hashing sits on the checkpoint path), the portable rounds otherwise; both are
// checked against the NIST vectors by test/common-sha256.test.ts.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>

namespace crftb {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  // Finishes the hash; the object must not be updated afterwards.
  void Final(uint8_t digest[32]);
  std::string HexFinal();

 private:
  void Blocks(const uint8_t* data, size_t count);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

// Which block function is in use: "sha-ni" or "portable" (reported by tests and the bench).
const char* Sha256Implementation();

}  // namespace crftb
