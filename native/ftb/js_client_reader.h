// Reads the process' FTB connection on a JS thread's own event loop while that thread's client
// has listeners: an event then costs the agent's hop and one wake-up of the JS thread, instead of
// waking the client's I/O thread which wakes the JS thread (Client::BeginReading). Everything
// else stays with the I/O thread: writing, reconnecting, back-pressure, other threads' clients.
// When reading here is not possible (not connected, another thread reads, a consumer elsewhere
// is behind) events keep arriving through the batch's TSFN, and the reader begins again when told
// of a new socket or when the next such batch arrives. JS thread only.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "ftb/client.h"
#include "ftb/js_client_batch.h"

namespace crftb::ftb {

class JsThreadReader : public std::enable_shared_from_this<JsThreadReader> {
 public:
  JsThreadReader(Napi::Env env, std::weak_ptr<Client> client, std::shared_ptr<JsEventBatch> batch,
                 Napi::Function on_event);
  ~JsThreadReader();

  // Listeners appeared / went away; Stop also before the client disconnects.
  void Want(bool want);
  void Stop();
  // A batch came through the TSFN (or a nudge): begin reading if wanted and not reading.
  void Retry();

 private:
  void Begin();
  void End(bool keep_listening);
  void ReadAvailable();
  void Deliver();
  static void OnReadable(uv_poll_t* handle, int status, int events);

  Napi::Env env_;
  std::weak_ptr<Client> client_;
  std::shared_ptr<JsEventBatch> batch_;
  Napi::FunctionReference on_event_;
  Napi::AsyncContext context_;
  bool want_ = false;
  Client::Reading reading_;
  uv_poll_t* poll_ = nullptr;  // freed by its close callback
};

}  // namespace crftb::ftb
