#include "cr/async_check.h"

#include <system_error>
#include <thread>

namespace crftb::cr {

std::shared_ptr<AsyncCheck> AsyncCheck::Start(std::function<Failure()> check) {
  auto self = std::make_shared<AsyncCheck>();
  try {
    // The thread holds its own reference: a request that is interrupted meanwhile may drop its one.
    std::thread([self, check] { self->Finish(check()); }).detach();
  } catch (const std::system_error&) {
    self->Finish(check());
  }
  return self;
}

void AsyncCheck::Finish(Failure outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  outcome_ = std::move(outcome);
  done_ = true;
  done_cv_.notify_all();
}

Failure AsyncCheck::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  done_cv_.wait(lock, [this] { return done_; });
  return outcome_;
}

}  // namespace crftb::cr
