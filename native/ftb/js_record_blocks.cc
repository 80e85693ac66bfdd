#include "ftb/js_record_blocks.h"

#include <stdlib.h>

#include <atomic>
#include <mutex>
#include <new>
#include <vector>

namespace crftb::ftb {

struct RecordBlock {
  std::atomic<int> refs{1};
  uint8_t data[kRecordBlockBytes];
};

namespace {

// Blocks kept for reuse: 64 × 85 KB = 5.5 MB at most once JS has let go of a flood's batches;
// beyond that they are freed.
constexpr size_t kKeptBlocks = 64;

struct Pool {
  std::mutex mu;
  std::vector<RecordBlock*> free;
};

// Never destroyed: finalizers of Buffers still alive at exit may run after static destructors.
Pool& ThePool() {
  static Pool* pool = new Pool;
  return *pool;
}

}  // namespace

RecordBlock* NewRecordBlock() {
  {
    Pool& pool = ThePool();
    std::lock_guard<std::mutex> lock(pool.mu);
    if (!pool.free.empty()) {
      RecordBlock* block = pool.free.back();
      pool.free.pop_back();
      block->refs.store(1, std::memory_order_relaxed);
      return block;
    }
  }
  return new RecordBlock;  // std::bad_alloc when there is no memory, as for any allocation
}

uint8_t* RecordBlockData(RecordBlock* block) { return block->data; }

void RetainRecordBlock(RecordBlock* block) { block->refs.fetch_add(1, std::memory_order_relaxed); }

void ReleaseRecordBlock(RecordBlock* block) {
  if (block == nullptr || block->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  Pool& pool = ThePool();
  {
    std::lock_guard<std::mutex> lock(pool.mu);
    if (pool.free.size() < kKeptBlocks) {
      pool.free.push_back(block);
      return;
    }
  }
  delete block;
}

Napi::Buffer<uint8_t> RecordSliceToJs(Napi::Env env, RecordBlock* block, size_t offset, size_t bytes) {
  return Napi::Buffer<uint8_t>::New(
      env, block->data + offset, bytes, [](Napi::Env, uint8_t*, RecordBlock* owner) { ReleaseRecordBlock(owner); },
      block);
}

}  // namespace crftb::ftb
