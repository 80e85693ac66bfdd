#include "cr/trusted_path.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

namespace crftb::cr {

Failure CheckTrusted(const struct stat& st, const std::string& path) {
  const uid_t me = geteuid();
  if (st.st_uid != me)
    return Failure::System(EPERM, path + " belongs to uid " + std::to_string(st.st_uid) + ", not to uid " +
                                      std::to_string(me) +
                                      " that is checkpointing: crftb will not keep or "
                                      "restore images there (another user could have planted it); remove it "
                                      "or choose a dir in a directory only you can write");
  if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH)))
    return Failure::System(EPERM, path +
                                      " is writable by its group or by others: crftb will not keep or "
                                      "restore images there; run `chmod go-w " +
                                      path + "` or choose another dir");
  return Failure::None();
}

Failure OpenTrustedDirAt(int dir_fd, const std::string& name, const std::string& path, int* fd_out) {
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR)
      return Failure::System(EPERM, path +
                                        " is not a directory (a symlink or a file stands there): crftb "
                                        "will not follow it; remove it");
    return Failure::FromErrno(errno, "cannot open the images directory " + path).At("open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Failure::FromErrno(err, "cannot inspect the images directory " + path).At("fstat", path);
  }
  if (Failure f = CheckTrusted(st, path); !f.ok()) {
    close(fd);
    return f;
  }
  *fd_out = fd;
  return Failure::None();
}

Failure OpenTrustedDir(const std::string& path, int* fd_out) { return OpenTrustedDirAt(AT_FDCWD, path, path, fd_out); }

}  // namespace crftb::cr
