#include "cr/images_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <atomic>
#include <sstream>

#include "common/unique_fd.h"
#include "cr/scope.h"

namespace crftb::cr {

namespace {

constexpr const char* kLockFile = "lock";

std::string NewToken() {
  static std::atomic<unsigned long long> counter{0};
  unsigned long long nonce = 0;
  if (getrandom(&nonce, sizeof nonce, GRND_NONBLOCK) != sizeof nonce) nonce = 0;
  nonce ^= ++counter;
  return std::to_string(getpid()) + " " + ProcessStartTime(getpid()) + " " + std::to_string(nonce);
}

std::string ReadLock(int gens_fd, const char* name = kLockFile) {
  UniqueFd fd(openat(gens_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return "";
  char text[256];
  ssize_t n = read(fd.get(), text, sizeof text - 1);
  return n > 0 ? std::string(text, static_cast<size_t>(n)) : "";
}

// A name beside the lock that only this request uses ("lock.<what>.<nonce>").
std::string PrivateName(const std::string& token, const char* what) {
  return std::string(kLockFile) + "." + what + "." + token.substr(token.rfind(' ') + 1);
}

// Makes `token` the lock in one step: written to a private file, then linked to the lock's name
// (link fails with EEXIST while a lock exists). A lock created empty and written afterwards would
// let another request read it in between, take it for stale and take it over. None, or the
// failure of the call that failed (linkat's EEXIST: the lock is held).
Failure Publish(int gens_fd, const std::string& gens, const std::string& token) {
  const std::string temp = PrivateName(token, "new");
  const std::string what = "cannot create the lock " + gens + "/" + kLockFile;
  UniqueFd fd(openat(gens_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return Failure::FromErrno(errno, what).At("open", gens + "/" + temp);
  Failure failed;
  if (write(fd.get(), token.data(), token.size()) != static_cast<ssize_t>(token.size()))
    failed = Failure::FromErrno(errno ? errno : EIO, what).At("write", gens + "/" + temp);
  fd.reset();
  if (failed.ok() && linkat(gens_fd, temp.c_str(), gens_fd, kLockFile, 0) != 0)
    failed = Failure::FromErrno(errno, what).At("link", gens + "/" + kLockFile);
  unlinkat(gens_fd, temp.c_str(), 0);
  return failed;
}

// Removes the lock only if it still holds `stale`: two requests may find the same stale lock, and
// the slower must not remove the lock the faster has just taken (it is put back).
void RemoveStale(int gens_fd, const std::string& stale, const std::string& token) {
  const std::string aside = PrivateName(token, "stale");
  if (renameat(gens_fd, kLockFile, gens_fd, aside.c_str()) != 0) return;
  if (ReadLock(gens_fd, aside.c_str()) != stale) linkat(gens_fd, aside.c_str(), gens_fd, kLockFile, 0);
  unlinkat(gens_fd, aside.c_str(), 0);
}

// The holder named by a lock's text still runs (same pid and start time).
bool HolderAlive(const std::string& text, pid_t* pid) {
  std::istringstream fields(text);
  std::string start;
  if (!(fields >> *pid >> start) || *pid <= 0) return false;
  return ProcessStartTime(*pid) == start;
}

}  // namespace

ImagesLock& ImagesLock::operator=(ImagesLock&& other) noexcept {
  if (this != &other) {
    Release();
    gens_ = std::move(other.gens_);
    token_ = std::move(other.token_);
    other.token_.clear();
  }
  return *this;
}

Failure ImagesLock::Acquire(int gens_fd, const std::string& gens, const std::string& dir, ImagesLock* out) {
  const std::string token = NewToken();
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Failure published = Publish(gens_fd, gens, token);
    if (published.ok()) {
      *out = ImagesLock();
      out->gens_ = gens;
      out->token_ = token;
      return Failure::None();
    }
    if (!published.Is(EEXIST)) return published;
    pid_t holder = 0;
    const std::string text = ReadLock(gens_fd);
    if (HolderAlive(text, &holder))
      return Failure::System(EAGAIN, "another checkpoint (pid " + std::to_string(holder) + ") is writing into " + dir +
                                         "; retry when it has finished (option retry), or checkpoint into another dir");
    RemoveStale(gens_fd, text, token);  // its holder is gone
  }
  return Failure::System(EAGAIN, "another checkpoint keeps taking the lock of " + dir + "; retry (option retry)");
}

void ImagesLock::Release() {
  if (token_.empty()) return;
  int gens_fd = open(gens_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gens_fd >= 0) {
    if (ReadLock(gens_fd) == token_) unlinkat(gens_fd, kLockFile, 0);
    close(gens_fd);
  }
  token_.clear();
}

}  // namespace crftb::cr
