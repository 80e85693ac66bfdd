#include "common/read_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace crftb {

bool ReadWholeFile(const std::string& path, std::string* out, size_t limit) {
  out->clear();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char chunk[8192];
  bool ok = true;
  while (out->size() < limit) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ok = false;
    if (n <= 0) break;
    out->append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  if (out->size() > limit) out->resize(limit);
  return ok;
}

}  // namespace crftb
