#include "ftb/js_client_reader.h"

namespace crftb::ftb {
namespace {

// Reads (of up to 256 events each, drained to JS in between) per wake-up before the loop gets
// its turn back: a flood is taken in large gulps, other callbacks still run.
constexpr int kReadsPerWakeUp = 16;

}  // namespace

JsThreadReader::JsThreadReader(Napi::Env env, std::weak_ptr<Client> client, std::shared_ptr<JsEventBatch> batch,
                               Napi::Function on_event)
    : env_(env),
      client_(std::move(client)),
      batch_(std::move(batch)),
      on_event_(Napi::Persistent(on_event)),
      context_(env, "crftb-ftb-events") {}

JsThreadReader::~JsThreadReader() { Stop(); }

void JsThreadReader::Want(bool want) {
  want_ = want;
  if (want) {
    Begin();
  } else {
    End(false);
  }
}

void JsThreadReader::Stop() {
  want_ = false;
  End(false);
}

void JsThreadReader::Retry() {
  if (want_ && reading_.fd < 0) Begin();
}

void JsThreadReader::Begin() {
  if (reading_.fd >= 0) return;
  auto client = client_.lock();
  if (!client) return;
  std::weak_ptr<JsEventBatch> batch = batch_;
  // Told (on the I/O thread) when the socket goes or comes: a nudge brings us back here.
  reading_ = client->BeginReading(this, [batch] {
    if (auto b = batch.lock()) b->Nudge();
  });
  if (reading_.fd < 0) return;
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env_, &loop);
  poll_ = new uv_poll_t;
  if (loop == nullptr || uv_poll_init(loop, poll_, reading_.fd) != 0) {
    delete poll_;
    poll_ = nullptr;
    client->EndReading(this, &reading_, false);
    return;
  }
  poll_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));  // the TSFN's ref decides the process' life
  uv_poll_start(poll_, UV_READABLE, &JsThreadReader::OnReadable);
}

void JsThreadReader::End(bool keep_listening) {
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);  // before the fd closes: libuv forgets it first
    poll_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    poll_ = nullptr;
  }
  auto client = client_.lock();
  if (client) {
    client->EndReading(this, &reading_, keep_listening);
  } else if (reading_.fd >= 0) {
    close(reading_.fd);
    reading_.fd = -1;
  }
}

void JsThreadReader::OnReadable(uv_poll_t* handle, int status, int) {
  auto* self = static_cast<JsThreadReader*>(handle->data);
  if (self == nullptr) return;
  // A listener may close the client (and drop the last reference) while events are delivered.
  std::shared_ptr<JsThreadReader> keep = self->shared_from_this();
  if (status < 0) {
    self->End(true);  // the I/O thread sees the failure and reconnects; we are told then
    return;
  }
  self->ReadAvailable();
}

void JsThreadReader::ReadAvailable() {
  Napi::HandleScope scope(env_);
  for (int i = 0; i < kReadsPerWakeUp && reading_.fd >= 0; ++i) {
    auto client = client_.lock();
    if (!client) return End(false);
    Client::ReadOutcome outcome;
    {
      JsEventBatch::Direct direct(batch_.get());
      outcome = client->ReadOnce(reading_, batch_->Room());
    }
    client.reset();
    Deliver();
    switch (outcome) {
      case Client::ReadOutcome::kMore:
        continue;
      case Client::ReadOutcome::kDrained:
        return;
      case Client::ReadOutcome::kBehind:  // the I/O thread paces the laggard; back with its batch
      case Client::ReadOutcome::kLost:    // the I/O thread reconnects; back when told
      case Client::ReadOutcome::kStale:
        return End(true);
    }
  }
}

// Runs the listeners as a macrotask of their own: MakeCallback, so nextTicks and microtasks
// (iterators, rethrown listener errors) run after it, as after the TSFN's calls.
void JsThreadReader::Deliver() {
  Napi::Object receiver = Napi::Object::New(env_);
  batch_->Drain(env_, [&](Napi::Value ids, Napi::Value records, Napi::Value readable) {
    if (on_event_.IsEmpty()) return;
    try {
      on_event_.Value().MakeCallback(receiver, {ids, records, readable}, context_);
    } catch (const Napi::Error& e) {
      napi_fatal_exception(env_, e.Value());  // 'uncaughtException', as for any callback
    }
  });
}

}  // namespace crftb::ftb
