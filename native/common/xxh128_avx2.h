// XXH3-128 compiled a second time for AVX2 (native/common/xxh128_avx2.cc), which Xxh128 uses when
// the CPU and the kernel support it: about 3x faster over the pages of a checkpoint than the
// SSE2 code every x86-64 can run, which is what the rest of the addon is built for.
#pragma once

#include <stddef.h>

namespace crftb::xxh_avx2 {

// Whether this build has the AVX2 variant at all (x86-64, built with GCC).
bool Built();

// On an XXH3_state_t of xxh128.cc's (same layout: the same header, the same options).
void Reset(void* state);
void Update(void* state, const void* data, size_t size);
// The 128-bit digest, canonical (big-endian) bytes.
void Digest(const void* state, unsigned char out[16]);

}  // namespace crftb::xxh_avx2
