#include "common/xxh128.h"

#include <stdlib.h>

#include "common/xxh128_avx2.h"

// Inline and file-local: the addon carries its own copy and exports none of it.
#define XXH_INLINE_ALL
#include "third_party/xxhash/xxhash.h"

namespace crftb {

namespace {

bool UseAvx2() {
  if (!xxh_avx2::Built() || getenv("CRFTB_XXH128_PORTABLE")) return false;  // the env: lets the test compare both
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");  // libgcc checks that the kernel saves the AVX state too
#else
  return false;
#endif
}

bool Avx2() {
  static const bool chosen = UseAvx2();
  return chosen;
}

}  // namespace

struct Xxh128::State {
  XXH3_state_t xxh;
};

const char* Xxh128Implementation() { return Avx2() ? "avx2" : "portable"; }

Xxh128::Xxh128() : state_(new State) {
  if (Avx2())
    xxh_avx2::Reset(&state_->xxh);
  else
    XXH3_128bits_reset(&state_->xxh);
}

Xxh128::~Xxh128() { delete state_; }

void Xxh128::Update(const void* data, size_t size) {
  if (size == 0) return;
  if (Avx2())
    xxh_avx2::Update(&state_->xxh, data, size);
  else
    XXH3_128bits_update(&state_->xxh, data, size);
}

std::string Xxh128::HexFinal() {
  unsigned char digest[16];
  if (Avx2()) {
    xxh_avx2::Digest(&state_->xxh, digest);
  } else {
    XXH128_canonical_t canonical;
    XXH128_canonicalFromHash(&canonical, XXH3_128bits_digest(&state_->xxh));
    for (int i = 0; i < 16; ++i) digest[i] = canonical.digest[i];
  }
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

}  // namespace crftb
