#include "ftb/js_client_batch.h"

#include <string.h>

#include <algorithm>

namespace crftb::ftb {
namespace {

// Events per Buffer handed to JS: 64 records (85 KB) stay below malloc's mmap threshold, so a
// flood does not map and fault in fresh pages for every batch.
constexpr size_t kEventsPerJsCall = 64;

// JS is "behind" once this many events wait for it (or half of callbackQueueLimit, when
// smaller: the I/O thread checks between reads of up to 256 events, and the other half absorbs
// that): the I/O thread then leaves the rest in the socket, so a flood is paced by JS instead of
// being buffered without bound here or dropped.
constexpr size_t kBehindEvents = 4096;

thread_local const JsEventBatch* direct_batch = nullptr;

}  // namespace

void AppendCompact(const ReceivedEvent& r, std::vector<uint8_t>* out) {
  const size_t at = out->size();
  out->resize(at + sizeof(wire::Message));  // zero-filled: dst and the rest of src stay zero
  auto* m = reinterpret_cast<wire::Message*>(out->data() + at);
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

JsEventBatch::Direct::Direct(const JsEventBatch* batch) : previous_(direct_batch) { direct_batch = batch; }
JsEventBatch::Direct::~Direct() { direct_batch = previous_; }

bool JsEventBatch::Append(const ReceivedEvent& event) {
  std::lock_guard<std::mutex> lock(mu_);
  if (ids_.size() >= limit_) return false;  // JS is not keeping up: drop, count
  AppendCompact(event, &bytes_);
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
    bytes_.clear();
    ids_.clear();
  }
}

void JsEventBatch::Drain(Napi::Env env, const Call& call) {
  std::vector<uint8_t> bytes;
  std::vector<uint32_t> ids;
  bool readable;
  bool was_behind;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_behind = ids_.size() >= behind_;
    bytes.swap(spare_bytes_);
    ids.swap(spare_ids_);
    bytes.swap(bytes_);
    ids.swap(ids_);
    readable = readable_;
    readable_ = false;
    call_pending_ = false;
  }
  if (was_behind) {
    if (auto client = client_.lock()) client->ConsumerCaughtUp();
  }
  for (size_t first = 0; first < ids.size() || (first == 0 && readable); first += kEventsPerJsCall) {
    Napi::Value events = env.Null();
    Napi::Value subs = env.Null();
    const size_t n = std::min(kEventsPerJsCall, ids.size() - std::min(first, ids.size()));
    if (n > 0) {
      events =
          Napi::Buffer<uint8_t>::Copy(env, bytes.data() + first * sizeof(wire::Message), n * sizeof(wire::Message));
      auto array = Napi::Uint32Array::New(env, n);
      memcpy(array.Data(), ids.data() + first, n * sizeof(uint32_t));
      subs = array;
    }
    const bool last = first + kEventsPerJsCall >= ids.size();
    call(subs, events, Napi::Boolean::New(env, readable && last));
    if (last) break;
  }
  bytes.clear();
  ids.clear();
  std::lock_guard<std::mutex> lock(mu_);
  spare_bytes_.swap(bytes);
  spare_ids_.swap(ids);
}

}  // namespace crftb::ftb
