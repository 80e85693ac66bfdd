#include "cr/abandoned.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

namespace crftb::cr {

namespace {

// Leaked on purpose: detached threads may still touch them while statics are destroyed at exit.
std::mutex& Mutex() {
  static auto* mutex = new std::mutex;
  return *mutex;
}
std::condition_variable& Idle() {
  static auto* idle = new std::condition_variable;
  return *idle;
}
int running = 0;

void Done() {
  std::lock_guard<std::mutex> lock(Mutex());
  if (--running == 0) Idle().notify_all();
}

}  // namespace

void RunAbandoned(std::function<void()> work) {
  {
    std::lock_guard<std::mutex> lock(Mutex());
    ++running;
  }
  try {
    std::thread([work] {
      work();
      Done();
    }).detach();
  } catch (const std::system_error&) {
    work();
    Done();
  }
}

bool WaitAbandoned(int timeout_ms) {
  std::unique_lock<std::mutex> lock(Mutex());
  if (timeout_ms < 0) {
    Idle().wait(lock, [] { return running == 0; });
    return true;
  }
  return Idle().wait_for(lock, std::chrono::milliseconds(timeout_ms), [] { return running == 0; });
}

}  // namespace crftb::cr
