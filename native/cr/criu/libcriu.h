// libcriu.so.2 (CRIU's RPC client library) reached through dlopen, so the addon loads on machines
// without it. Only the per-options-object ("criu_local_*") API is used: it keeps no global state,
// so two requests never share settings. Prototypes are the library's ABI as criu.h declares it
// (Debian 12's 3.17 client speaks the same RPC as the 4.1.1 service: ../shared/criu/NOTES.md).
#pragma once

#include <string>

#include "common/failure.h"

namespace crftb::cr::criu {

struct Opts;  // libcriu's opaque `criu_opts`

struct LibCriu {
  int (*init_opts)(Opts** opts);
  void (*free_opts)(Opts* opts);
  void (*set_service_fd)(Opts* opts, int fd);  // CRIU_COMM_FD: a service crftb started (service.h)
  void (*set_pid)(Opts* opts, int pid);
  void (*set_images_dir_fd)(Opts* opts, int fd);
  void (*set_work_dir_fd)(Opts* opts, int fd);
  int (*set_parent_images)(Opts* opts, const char* path);
  void (*set_leave_running)(Opts* opts, bool leave_running);
  void (*set_track_mem)(Opts* opts, bool track_mem);
  void (*set_ext_unix_sk)(Opts* opts, bool ext_unix_sk);
  void (*set_tcp_established)(Opts* opts, bool tcp_established);
  void (*set_shell_job)(Opts* opts, bool shell_job);
  void (*set_tcp_close)(Opts* opts, bool tcp_close);
  void (*set_tcp_skip_in_flight)(Opts* opts, bool skip);
  void (*set_network_lock)(Opts* opts, int method);  // enum criu_network_lock_method: 1 iptables, 2 nftables
  void (*set_ghost_limit)(Opts* opts, unsigned int limit);
  void (*set_file_locks)(Opts* opts, bool file_locks);
  void (*set_log_level)(Opts* opts, int level);
  // CRIU's notifications ("post-dump": images written, tasks still frozen; ...): the callback runs
  // on the thread that made the call, before CRIU goes on. No user data: see engine.cc.
  void (*set_notify_cb)(Opts* opts, int (*cb)(char* action, void* arg));
  int (*set_log_file)(Opts* opts, const char* path);
  int (*dump)(Opts* opts);         // self-dump: 0 continued, 1 restored copy; <0 -errno
  int (*restore)(Opts* opts);      // >0 pid of the restored root; <0 -errno
  int (*get_version)(Opts* opts);  // major*10000 + minor*100 + sublevel; <0 -errno
  std::string path;                // file that was loaded
};

// Loads the library once per process (thread-safe); `library` "" = "libcriu.so.2".
// ENOSYS (with what to install) when it cannot be loaded, ELIBBAD when a symbol is missing.
Failure LoadLibCriu(const std::string& library, const LibCriu** out);

}  // namespace crftb::cr::criu
