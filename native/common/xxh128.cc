#include "common/xxh128.h"

// Inline and file-local: the addon carries its own copy and exports none of it.
#define XXH_INLINE_ALL
#include "third_party/xxhash/xxhash.h"

namespace crftb {

struct Xxh128::State {
  XXH3_state_t xxh;
};

Xxh128::Xxh128() : state_(new State) { XXH3_128bits_reset(&state_->xxh); }

Xxh128::~Xxh128() { delete state_; }

void Xxh128::Update(const void* data, size_t size) {
  if (size > 0) XXH3_128bits_update(&state_->xxh, data, size);
}

std::string Xxh128::HexFinal() {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state_->xxh));
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : canonical.digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

}  // namespace crftb
