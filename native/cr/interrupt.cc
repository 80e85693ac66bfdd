#include "cr/interrupt.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/deadline.h"

namespace crftb::cr {

Failure CancelSignal::Make(std::shared_ptr<CancelSignal>* out) {
  auto signal = std::make_shared<CancelSignal>();
  signal->fd_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!signal->fd_.valid())
    return Failure::FromErrno(errno, "cannot create the cancel signal of a request").At("eventfd");
  *out = std::move(signal);
  return Failure::None();
}

void CancelSignal::Cancel() {
  if (cancelled_.exchange(true) || !fd_.valid()) return;
  uint64_t one = 1;
  while (write(fd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
  }
}

Interrupt::Interrupt(int timeout_ms, int elapsed_ms, std::shared_ptr<CancelSignal> signal)
    : timeout_ms_(timeout_ms),
      deadline_ms_(timeout_ms > 0 ? DeadlineAfter(timeout_ms > elapsed_ms ? timeout_ms - elapsed_ms : 0) : kNoTimeout),
      signal_(std::move(signal)) {}

Failure Interrupt::Interrupted(bool cancelled, const std::string& what) const {
  if (cancelled) return Failure::Aborted("the " + what + " was aborted");
  return Failure::System(ETIMEDOUT,
                         "the " + what + " did not finish within " + std::to_string(timeout_ms_) + " ms (timeoutMs)");
}

Failure Interrupt::Check(const std::string& what) const {
  if (signal_ && signal_->cancelled()) return Interrupted(true, what);
  if (deadline_ms_ != kNoTimeout && RemainingMs(deadline_ms_) == 0) return Interrupted(false, what);
  return Failure::None();
}

Failure Interrupt::Wait(int ready_fd, const std::string& what) const {
  for (;;) {
    if (Failure f = Check(what); !f.ok()) return f;
    pollfd fds[2] = {{ready_fd, POLLIN, 0}, {signal_ ? signal_->fd() : -1, POLLIN, 0}};
    int rc = poll(fds, 2, RemainingMs(deadline_ms_));
    if (rc < 0 && errno != EINTR) return Failure::FromErrno(errno, "waiting for the " + what).At("poll");
    if (rc > 0 && (fds[0].revents & (POLLIN | POLLERR | POLLHUP))) return Failure::None();
  }
}

bool IsInterruption(const Failure& failure) { return failure.Is(ETIMEDOUT) || failure.aborted(); }

}  // namespace crftb::cr
