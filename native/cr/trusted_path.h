// The rule for every directory and link crftb keeps images in: it belongs to the caller's
// effective uid and nobody else can change it (no group/other write). In a shared directory such
// as /tmp, anything else may have been planted by another user (a generation to restore from, a
// log symlink to write through), so it is refused, never used.
#pragma once

#include <sys/stat.h>

#include <string>

#include "common/failure.h"

namespace crftb::cr {

// EPERM naming `path` and the fix unless `st` (of `path`, from lstat/fstat) is owned by geteuid()
// and, unless it is a symlink (whose mode means nothing), not group- or other-writable.
Failure CheckTrusted(const struct stat& st, const std::string& path);

// Opens the directory `path` without following a final symlink and checks it as above.
// ENOENT (as FromErrno) when it does not exist; ENOTDIR/ELOOP when it is not a directory.
Failure OpenTrustedDir(const std::string& path, int* fd_out);
Failure OpenTrustedDirAt(int dir_fd, const std::string& name, const std::string& path, int* fd_out);

}  // namespace crftb::cr
