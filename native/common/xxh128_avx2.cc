#include "common/xxh128_avx2.h"

// Only C headers below, and nothing that instantiates a C++ inline function: the code of this
// file is AVX2 code, and an inline function compiled here could be the copy the linker keeps for
// the whole addon, reached on a CPU without AVX2. xxHash's functions are static (XXH_INLINE_ALL).
// GCC only (what node-gyp and the prebuilds use): another compiler builds the SSE2 code alone.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC target("avx2")
#include <immintrin.h>  // xxhash.h includes it only when the whole build targets AVX2

#define XXH_INLINE_ALL
#define XXH_VECTOR 2  // XXH_AVX2
#include "third_party/xxhash/xxhash.h"

namespace crftb::xxh_avx2 {

#include "common/xxh128_ops.inc"

}  // namespace crftb::xxh_avx2

#pragma GCC pop_options

namespace crftb::xxh_avx2 {
bool Built() { return true; }
}  // namespace crftb::xxh_avx2
#else
namespace crftb::xxh_avx2 {
bool Built() { return false; }
void Reset(void*) {}
void Update(void*, const void*, size_t) {}
void Digest(const void*, unsigned char out[16]) {
  for (int i = 0; i < 16; ++i) out[i] = 0;
}
}  // namespace crftb::xxh_avx2
#endif
