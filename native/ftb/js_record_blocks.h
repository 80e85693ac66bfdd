// Memory for the received-event records handed to JavaScript, in blocks of a fixed number of
// records. JS receives each batch without a copy, as an external Buffer over the slice of a
// block its events were written to; a block is shared by the slices cut from it and by the batch
// still filling it, and goes back to a pool when the last of them lets go (the Buffers'
// finalizers). So a flood writes each event once, into memory used before (copying every batch
// into a new Buffer cost the subscriber a memmove and a page fault per 4 KiB of events), and an
// isolated event holds one record of a block, not a block of its own (a block per event meant
// 85 KB of fresh memory per event until the next GC: page faults, and unmaps that interrupt the
// other CPUs).
#pragma once

#include <napi.h>
#include <stddef.h>
#include <stdint.h>

#include "ftb/wire.h"

namespace crftb::ftb {

constexpr size_t kRecordsPerBlock = 64;
constexpr size_t kRecordBlockBytes = kRecordsPerBlock * sizeof(wire::Message);

struct RecordBlock;

// A block with one reference (the caller's): a recycled one when there is one. Any thread.
RecordBlock* NewRecordBlock();
uint8_t* RecordBlockData(RecordBlock* block);
// Another reference / giving one back (the last one returns the block). Any thread.
void RetainRecordBlock(RecordBlock* block);
void ReleaseRecordBlock(RecordBlock* block);
// JS thread: `bytes` of `block` from `offset` as a Buffer that takes over one reference the
// caller held.
Napi::Buffer<uint8_t> RecordSliceToJs(Napi::Env env, RecordBlock* block, size_t offset, size_t bytes);

}  // namespace crftb::ftb
