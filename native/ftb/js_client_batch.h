// Events on their way from the FTB connection to one JS client's onEvent function. Whatever
// thread delivers (the I/O thread, or the JS thread while it reads the socket itself,
// js_client_reader.h) appends to a bounded batch; from the I/O thread one ThreadSafeFunction call
// at a time carries the whole batch, so a burst costs one wake-up of the event loop, not one per
// event. A full batch drops and counts, never blocks the delivering thread.
#pragma once

#include <napi.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "ftb/client.h"
#include "ftb/js_record_blocks.h"

namespace crftb::ftb {

// A received event as JS sees it: a 1336-byte wire::Message holding the event, the publisher's
// location (src.location) and extension (src.client.ext); lib/ftb/client.ts decodes fields
// lazily with the offsets the addon reports (ftbRules.layout()), so no layout is restated in TS.
// Written in place at `at` (sizeof(wire::Message) bytes: no temporary message, no second copy).
void WriteCompact(const ReceivedEvent& r, uint8_t* at);

class JsEventBatch : public std::enable_shared_from_this<JsEventBatch> {
 public:
  // onEvent(ids: Uint32Array | null, records: Buffer | null, readable: boolean)
  using Call = std::function<void(Napi::Value ids, Napi::Value records, Napi::Value readable)>;
  // The JS thread wants to know (run on it, through the TSFN) that it got a batch: `nudged` is
  // true when Nudge asked for the call rather than an event.
  using AfterDrain = std::function<void(bool nudged)>;

  JsEventBatch(Napi::ThreadSafeFunction tsfn, size_t limit, std::weak_ptr<Client> client);
  ~JsEventBatch();

  // Any thread. Append is the callback subscriptions' body: false when the batch is full.
  bool Append(const ReceivedEvent& event);
  void MarkReadable();                   // the polling queue got something
  void Nudge();                          // a TSFN call with no events, so the JS thread runs after_drain
  bool Behind();                         // the connection should stop reading (SetConsumerBehind)
  size_t Room();                         // events that fit before Append drops
  void SetAfterDrain(AfterDrain after);  // JS thread, before any delivery

  // JS thread: hands everything waiting to `call`, up to 64 events per Buffer (js_record_blocks.h:
  // JS gets a slice of the block they were written to, no copy).
  void Drain(Napi::Env env, const Call& call);

  // While one exists on a thread, Append/MarkReadable on that thread for `batch` only queue:
  // the thread (reading the socket itself) drains afterwards, no TSFN call.
  class Direct {
   public:
    explicit Direct(const JsEventBatch* batch);
    ~Direct();

   private:
    const JsEventBatch* previous_;
  };

 private:
  void ScheduleLocked();
  void DiscardLocked();  // the records nobody will take: their blocks let go of

  // Records waiting for JS: `count` of them from record `first` of `block`, which the slice
  // holds one reference to (handed to the JS Buffer over it).
  struct Slice {
    RecordBlock* block;
    size_t first;
    size_t count;
  };

  Napi::ThreadSafeFunction tsfn_;
  std::mutex mu_;
  // The JS thread swaps these with the spares and gives them back emptied, so all keep their
  // capacity: a steady stream allocates nothing per batch but record blocks JS has not let go of.
  std::vector<Slice> slices_;
  std::vector<uint32_t> ids_;
  std::vector<Slice> spare_slices_;
  std::vector<uint32_t> spare_ids_;
  // The block being written (one reference of its own) and how many records it holds: slices
  // for later batches are cut from it until it is full.
  RecordBlock* filling_ = nullptr;
  size_t filled_ = 0;
  bool readable_ = false;
  bool nudged_ = false;
  bool call_pending_ = false;
  const size_t limit_;                  // events per batch before new ones are dropped
  const size_t behind_;                 // from this many on, the connection stops reading (back-pressure)
  const std::weak_ptr<Client> client_;  // woken when JS takes a batch that held it back
  AfterDrain after_drain_;              // JS thread only
};

}  // namespace crftb::ftb
