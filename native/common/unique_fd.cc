#include "common/unique_fd.h"

#include <unistd.h>

namespace crftb {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) close(fd_);  // never retried: on Linux the fd is gone even on EINTR
  fd_ = fd;
}

}  // namespace crftb
