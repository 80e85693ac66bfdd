// The CRIU service (`criu swrk <fd>`) for one libcriu call, started by crftb rather than by
// libcriu. libcriu's own launcher (CRIU_COMM_BIN) makes its socketpair without SOCK_CLOEXEC, so
// every child this process spawned while a checkpoint ran inherited the service socket. Here the
// pair is close-on-exec from birth; only the service's end is made inheritable, as the started
// program's descriptor 3 (spawn.h). libcriu gets our end through criu_local_set_service_fd (CRIU_COMM_FD)
// and closes it when the call returns.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/failure.h"

namespace crftb::cr::criu {

// What a per-request service is for.
enum class ServiceUse {
  kRequest,  // a dump of another process, a version query: our child, reaped after the call
  // A self-dump, which must not find the service among this process's children (CRIU dumps the
  // target's whole subtree): it runs as an orphaned grandchild in a new session, as libcriu does.
  kSelfDump,
  // A restore whose root becomes this process's child (CRIU's restore-sibling: the root is
  // cloned with CLONE_PARENT from the service, our child), so this process can wait for it and
  // learn its exit status. What libcriu's criu_restore_child() asks for over RPC; it cannot be
  // asked over a service fd crftb made, so the service is started with the option instead.
  kRestoreAsOurChild,
};

class Service {
 public:
  // `keep_fd`: a descriptor of ours the service holds until it ends (spawn.h keep_fd), or -1.
  // `output_fd`: the service's stdout and stderr (CRIU prints some refusals there, not in its
  // log), or -1 for /dev/null.
  static Failure Start(const std::string& binary, ServiceUse use, Service* out, int keep_fd = -1, int output_fd = -1);
  // A connection to this process's long-lived service for self-dumps (daemon.h), when it has one;
  // nothing to reap afterwards.
  static Failure Connect(const std::string& binary, Service* out);

  Service() = default;
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;
  ~Service();

  // Our end of the pair; ownership passes to libcriu with the call.
  int TakeFd();
  // After the call: reaps the service when it is our child (it exits when libcriu hangs up).
  void Wait();

 private:
  int fd_ = -1;
  pid_t child_ = 0;  // a service that is our own child, still to reap
};

}  // namespace crftb::cr::criu
