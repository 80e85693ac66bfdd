#include "ftb/js_client_batch.h"

#include <string.h>

#include <algorithm>

#include "ftb/js_record_blocks.h"

namespace crftb::ftb {
namespace {

// JS is "behind" once this many events wait for it (or half of callbackQueueLimit, when
// smaller: the I/O thread checks between reads of up to 256 events, and the other half absorbs
// that): the I/O thread then leaves the rest in the socket, so a flood is paced by JS instead of
// being buffered without bound here or dropped.
constexpr size_t kBehindEvents = 4096;

thread_local const JsEventBatch* direct_batch = nullptr;

}  // namespace

void WriteCompact(const ReceivedEvent& r, uint8_t* at) {
  memset(at, 0, sizeof(wire::Message));  // dst and the rest of src stay zero
  auto* m = reinterpret_cast<wire::Message*>(at);
  m->msg_type = wire::kNotify;
  m->src.location = r.source;
  m->src.client.ext = r.client_extension;
  m->event = r.event;
}

JsEventBatch::JsEventBatch(Napi::ThreadSafeFunction tsfn, size_t limit, std::weak_ptr<Client> client)
    : tsfn_(tsfn),
      limit_(std::max<size_t>(limit, 1)),
      behind_(std::max<size_t>(1, std::min(limit_ / 2, kBehindEvents))),
      client_(std::move(client)) {}

JsEventBatch::~JsEventBatch() {
  std::lock_guard<std::mutex> lock(mu_);
  DiscardLocked();
  ReleaseRecordBlock(filling_);
}

void JsEventBatch::DiscardLocked() {
  for (const Slice& slice : slices_) ReleaseRecordBlock(slice.block);
  slices_.clear();
  ids_.clear();
}

JsEventBatch::Direct::Direct(const JsEventBatch* batch) : previous_(direct_batch) { direct_batch = batch; }
JsEventBatch::Direct::~Direct() { direct_batch = previous_; }

bool JsEventBatch::Append(const ReceivedEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ids_.size() >= limit_) return false;  // JS is not keeping up: drop, count
  if (filling_ == nullptr || filled_ == kRecordsPerBlock) {
    ReleaseRecordBlock(filling_);
    filling_ = NewRecordBlock();
    filled_ = 0;
  }
  if (slices_.empty() || slices_.back().block != filling_) {
    RetainRecordBlock(filling_);
    slices_.push_back({filling_, filled_, 0});
  }
  WriteCompact(event, RecordBlockData(filling_) + filled_++ * sizeof(wire::Message));
  slices_.back().count++;
  ids_.push_back(static_cast<uint32_t>(event.subscription_id));
  if (direct_batch != this) ScheduleLocked();
  return true;
}

void JsEventBatch::MarkReadable() {
  std::lock_guard<std::mutex> lock(mu_);
  readable_ = true;
  if (direct_batch != this) ScheduleLocked();
}

void JsEventBatch::Nudge() {
  std::lock_guard<std::mutex> lock(mu_);
  nudged_ = true;
  ScheduleLocked();
}

bool JsEventBatch::Behind() {
  std::lock_guard<std::mutex> lock(mu_);
  return call_pending_ && ids_.size() >= behind_;
}

size_t JsEventBatch::Room() {
  std::lock_guard<std::mutex> lock(mu_);
  return limit_ - std::min(limit_, ids_.size());
}

void JsEventBatch::SetAfterDrain(AfterDrain after) { after_drain_ = std::move(after); }

// One TSFN call in flight at most.
void JsEventBatch::ScheduleLocked() {
  if (call_pending_) return;
  call_pending_ = true;
  std::shared_ptr<JsEventBatch> keep = shared_from_this();
  napi_status s = tsfn_.NonBlockingCall(static_cast<int*>(nullptr), [keep](Napi::Env env, Napi::Function fn, int*) {
    bool nudged;
    {
      std::lock_guard<std::mutex> lock(keep->mu_);
      nudged = keep->nudged_;
      keep->nudged_ = false;
    }
    if (env != nullptr) {
      keep->Drain(env, [&](Napi::Value ids, Napi::Value records, Napi::Value readable) {
        fn.Call({ids, records, readable});
      });
      if (keep->after_drain_) keep->after_drain_(nudged);
    }
  });
  if (s != napi_ok) {  // the TSFN is closing: nobody will take these
    call_pending_ = false;
    DiscardLocked();
  }
}

void JsEventBatch::Drain(Napi::Env env, const Call& call) {
  std::vector<Slice> blocks;
  std::vector<uint32_t> ids;
  bool readable;
  bool was_behind;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_behind = ids_.size() >= behind_;
    blocks.swap(spare_slices_);
    ids.swap(spare_ids_);
    blocks.swap(slices_);
    ids.swap(ids_);
    readable = readable_;
    readable_ = false;
    call_pending_ = false;
  }
  if (was_behind) {
    if (auto client = client_.lock()) client->ConsumerCaughtUp();
  }
  // Every slice is JS's before the first call: a listener that throws (the exception goes on
  // after the call) or closes the client leaves no reference behind.
  std::vector<Napi::Value> records;
  records.reserve(blocks.size());
  for (const Slice& slice : blocks)
    records.push_back(
        RecordSliceToJs(env, slice.block, slice.first * sizeof(wire::Message), slice.count * sizeof(wire::Message)));
  size_t first = 0;
  for (size_t i = 0; i < blocks.size() || (i == 0 && readable); ++i) {
    Napi::Value events = env.Null();
    Napi::Value subs = env.Null();
    if (i < blocks.size()) {
      const size_t n = blocks[i].count;
      events = records[i];
      auto array = Napi::Uint32Array::New(env, n);
      memcpy(array.Data(), ids.data() + first, n * sizeof(uint32_t));
      subs = array;
      first += n;
    }
    const bool last = i + 1 >= blocks.size();
    call(subs, events, Napi::Boolean::New(env, readable && last));
    if (last) break;
  }
  blocks.clear();
  ids.clear();
  std::lock_guard<std::mutex> lock(mu_);
  spare_slices_.swap(blocks);
  spare_ids_.swap(ids);
}

}  // namespace crftb::ftb
