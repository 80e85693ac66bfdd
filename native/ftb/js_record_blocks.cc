#include "ftb/js_record_blocks.h"

#include <stdlib.h>

#include <mutex>
#include <new>
#include <vector>

namespace crftb::ftb {
namespace {

// Blocks kept for reuse: 64 × 85 KB = 5.5 MB at most once JS has let go of a flood's batches;
// beyond that they are freed.
constexpr size_t kKeptBlocks = 64;

struct Pool {
  std::mutex mu;
  std::vector<uint8_t*> free;
};

// Never destroyed: finalizers of Buffers still alive at exit may run after static destructors.
Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

}  // namespace

uint8_t* TakeRecordBlock() {
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.free.empty()) {
      uint8_t* block = pool.free.back();
      pool.free.pop_back();
      return block;
    }
  }
  void* block = malloc(kRecordBlockBytes);
  if (block == nullptr) throw std::bad_alloc();
  return static_cast<uint8_t*>(block);
}

void ReturnRecordBlock(uint8_t* block) {
  if (block == nullptr) return;
  Pool& pool = ThePool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.free.size() < kKeptBlocks) {
      pool.free.push_back(block);
      return;
    }
  }
  free(block);
}

Napi::Buffer<uint8_t> RecordBlockToJs(Napi::Env env, uint8_t* block, size_t bytes) {
  return Napi::Buffer<uint8_t>::New(env, block, bytes, [](Napi::Env, uint8_t* data) { ReturnRecordBlock(data); });
}

}  // namespace crftb::ftb
