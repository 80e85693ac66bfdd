// Memory for the received-event records handed to JavaScript, in blocks of a fixed number of
// records that JS receives without a copy (an external Buffer over the block) and that come back
// here when JS lets go of them (the Buffer's finalizer). A flood then writes each event once, into
// memory it has used before: copying every batch into a new Buffer cost the subscriber a memmove
// and a page fault per 4 KiB of events (over a third of its CPU in a flood).
#pragma once

#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include "ftb/wire.h"

namespace crftb::ftb {

constexpr size_t kRecordsPerBlock = 64;
constexpr size_t kRecordBlockBytes = kRecordsPerBlock * sizeof(wire::Message);

// A block of kRecordBlockBytes: a recycled one when there is one. Any thread.
uint8_t* TakeRecordBlock();
// Gives a block that never reached JS back. Any thread.
void ReturnRecordBlock(uint8_t* block);
// JS thread: the first `bytes` of `block` as a Buffer that owns it from now on.
Napi::Buffer<uint8_t> RecordBlockToJs(Napi::Env env, uint8_t* block, size_t bytes);

}  // namespace crftb::ftb
