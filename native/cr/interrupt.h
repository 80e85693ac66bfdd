// What ends a checkpoint/restart request early: its deadline (timeoutMs) or a cancel from
// JavaScript (an AbortSignal, Ctrl-C in the CLI). Neither engine can be interrupted (LIBCR-FACTS
// §6.5), so an interrupt never stops the engine: it tells request.cc to stop waiting for it and
// decide what happens to the request's processes and images (request.cc: nothing is killed,
// stopped or left half-way by a request that was interrupted).
//
// Threads: Cancel() is called on the JS thread, everything else on the request's worker thread;
// the eventfd is the only state they share.
#pragma once

#include <stdint.h>

#include <atomic>
#include <memory>
#include <string>

#include "common/failure.h"
#include "common/unique_fd.h"

namespace crftb::cr {

// A cancel request, shared by the JS handle and the worker (either may outlive the other).
class CancelSignal {
 public:
  // EMFILE/ENFILE etc. when no eventfd can be made.
  static Failure Make(std::shared_ptr<CancelSignal>* out);
  void Cancel();
  // Once the request has settled (JS thread): the eventfd goes now, not when the JS cancel
  // function is collected. A later Cancel() does nothing.
  void Close() { fd_.reset(); }
  bool cancelled() const { return cancelled_.load(); }
  int fd() const { return fd_.get(); }  // readable once cancelled

 private:
  UniqueFd fd_;
  std::atomic<bool> cancelled_{false};
};

class Interrupt {
 public:
  // `timeout_ms` 0 = no deadline, of which `elapsed_ms` were already used before this request
  // (JavaScript waiting for callbacks); `signal` may be null (nothing can cancel).
  Interrupt(int timeout_ms, int elapsed_ms, std::shared_ptr<CancelSignal> signal);
  // Waits until `ready_fd` is readable: None, or the interruption (ETIMEDOUT / ABORT_ERR) when the
  // deadline passes or a cancel arrives first. `what` names the operation ("checkpoint").
  Failure Wait(int ready_fd, const std::string& what) const;
  // The interruption if one has happened by now, else None (never blocks).
  Failure Check(const std::string& what) const;
  int timeout_ms() const { return timeout_ms_; }

 private:
  Failure Interrupted(bool cancelled, const std::string& what) const;
  int timeout_ms_;
  int64_t deadline_ms_;
  std::shared_ptr<CancelSignal> signal_;
};

bool IsInterruption(const Failure& failure);

}  // namespace crftb::cr
