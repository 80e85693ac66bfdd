// Failure and errno names (failure.h): Node-free, so the fuzz harnesses in native/fuzz/ link the
// same definitions the addon uses.
#include <string.h>

#include "common/failure.h"

namespace crftb {

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name ? std::string(name) : "E" + std::to_string(err);
}

Failure Failure::FromErrno(int err, const std::string& what) {
  return Failure{ErrnoName(err), what + ": " + strerror(err), err};
}

Failure Failure::Coded(const std::string& code, const std::string& message, int errnum) {
  return Failure{code, message, errnum};
}

}  // namespace crftb
