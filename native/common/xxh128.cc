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

// The portable code, with the same signatures as the AVX2 copy's.
namespace portable {
#include "common/xxh128_ops.inc"
}  // namespace portable

struct Code {
  const char* name;
  void (*reset)(void*);
  void (*update)(void*, const void*, size_t);
  void (*digest)(const void*, unsigned char*);
};

// Chosen once per process.
const Code& Chosen() {
  static const Code code = UseAvx2() ? Code{"avx2", xxh_avx2::Reset, xxh_avx2::Update, xxh_avx2::Digest}
                                     : Code{"portable", portable::Reset, portable::Update, portable::Digest};
  return code;
}

}  // namespace

struct Xxh128::State {
  XXH3_state_t xxh;
};

const char* Xxh128Implementation() { return Chosen().name; }

Xxh128::Xxh128() : state_(new State) { Chosen().reset(&state_->xxh); }

Xxh128::~Xxh128() { delete state_; }

void Xxh128::Update(const void* data, size_t size) {
  if (size > 0) Chosen().update(&state_->xxh, data, size);
}

std::string Xxh128::HexFinal() {
  unsigned char digest[16];
  Chosen().digest(&state_->xxh, digest);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : digest) {
    hex += kHex[byte >> 4];
    hex += kHex[byte & 15];
  }
  return hex;
}

}  // namespace crftb
