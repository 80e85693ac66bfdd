// A check that runs on a thread of its own while the request goes on, and is waited for where its
// answer is needed: a restart verifies the checkpoint's manifest while the engine restores, and
// the engine waits for the answer before letting anything it restored run (engine.h may_resume).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "common/failure.h"

namespace crftb::cr {

class AsyncCheck {
 public:
  // Starts `check` on a detached thread (runs it at once, on this thread, if none can be started).
  static std::shared_ptr<AsyncCheck> Start(std::function<Failure()> check);
  // Blocks until the check has finished; its outcome.
  Failure Wait();

 private:
  void Finish(Failure outcome);
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  Failure outcome_;
};

}  // namespace crftb::cr
