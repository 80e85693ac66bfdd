// libcr.so.0 loaded with dlopen(RTLD_NOW|RTLD_LOCAL) and its functions resolved once. Loading is
// lazy (only an engine that is asked for BLCR pays for it) and never undone: a real libcr claims
// the top real-time signal and installs a process-wide handler at load time (§1.1), which a
// dlclose would leave dangling.
#pragma once

#include <string>

#include "common/failure.h"
#include "cr/blcr/abi.h"

namespace crftb::cr::blcr {

constexpr const char* kDefaultLibrary = "libcr.so.0";

class Library {
 public:
  // The loaded library for `path` ("" = kDefaultLibrary, found through the normal search path,
  // LD_LIBRARY_PATH included). Thread-safe; a successful load is cached per path, a failed one
  // is retried next time. Fails with ENOSYS when the library cannot be loaded and ELIBBAD when
  // it lacks a function of the 0.8 ABI.
  static const Library* Load(const std::string& path, Failure* failure);

  // Calls cr_init() once in the calling thread (libcr wants every thread that issues requests
  // registered first, §4.1) and returns its client id. ENOSYS means the kernel module is absent.
  Failure InitThread(int* client_id) const;

  std::string requested;  // the name or path given to dlopen
  std::string file;       // the file actually mapped (symlinks resolved), e.g. /usr/lib/libcr.so.0.5.5
  // libcr was built --with-ftb (it exports cri_ftb_init), so it publishes CHKPT_*/RSTRT_* events
  // itself and crftb must not publish them a second time (§1.2, §8).
  bool publishes_ftb = false;

  InitFn init = nullptr;
  InitCheckpointArgsFn init_checkpoint_args = nullptr;
  InitRestartArgsFn init_restart_args = nullptr;
  RequestCheckpointFn request_checkpoint = nullptr;
  LogFn log_checkpoint = nullptr;
  ReapFn reap_checkpoint = nullptr;
  RequestRestartFn request_restart = nullptr;
  LogFn log_restart = nullptr;
  ReapFn reap_restart = nullptr;

 private:
  Library() = default;
  void* handle_ = nullptr;
};

}  // namespace crftb::cr::blcr
