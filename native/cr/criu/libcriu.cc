#include "cr/criu/libcriu.h"

#include <dlfcn.h>
#include <errno.h>

#include <map>
#include <mutex>

#include "cr/criu_locator.h"

namespace crftb::cr::criu {

namespace {

template <typename Fn>
bool Bind(void* handle, const char* symbol, Fn* out, std::string* missing) {
  *out = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (!*out && missing->empty()) *missing = symbol;
  return *out != nullptr;
}

}  // namespace

Failure LoadLibCriu(const std::string& library, const LibCriu** out) {
  static std::mutex mutex;
  static std::map<std::string, LibCriu> loaded;  // never unloaded: handles may outlive requests
  const std::string name = library.empty() ? "libcriu.so.2" : library;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto it = loaded.find(name); it != loaded.end()) {
    *out = &it->second;
    return Failure::None();
  }
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = dlerror();
    return Failure::System(ENOSYS, "the CRIU engine needs " + name + " (" + (why ? why : "not found") +
                                       "); install it (Debian/Ubuntu: apt-get install criu, which ships "
                                       "libcriu.so.2) and a working criu (" +
                                       kProvisionCriuHint + ")");
  }
  LibCriu lib;
  std::string missing;
  Bind(handle, "criu_local_init_opts", &lib.init_opts, &missing);
  Bind(handle, "criu_local_free_opts", &lib.free_opts, &missing);
  Bind(handle, "criu_local_set_service_fd", &lib.set_service_fd, &missing);
  Bind(handle, "criu_local_set_pid", &lib.set_pid, &missing);
  Bind(handle, "criu_local_set_images_dir_fd", &lib.set_images_dir_fd, &missing);
  Bind(handle, "criu_local_set_work_dir_fd", &lib.set_work_dir_fd, &missing);
  Bind(handle, "criu_local_set_parent_images", &lib.set_parent_images, &missing);
  Bind(handle, "criu_local_set_leave_running", &lib.set_leave_running, &missing);
  Bind(handle, "criu_local_set_track_mem", &lib.set_track_mem, &missing);
  Bind(handle, "criu_local_set_ext_unix_sk", &lib.set_ext_unix_sk, &missing);
  Bind(handle, "criu_local_set_tcp_established", &lib.set_tcp_established, &missing);
  Bind(handle, "criu_local_set_shell_job", &lib.set_shell_job, &missing);
  Bind(handle, "criu_local_set_tcp_close", &lib.set_tcp_close, &missing);
  Bind(handle, "criu_local_set_tcp_skip_in_flight", &lib.set_tcp_skip_in_flight, &missing);
  Bind(handle, "criu_local_set_network_lock", &lib.set_network_lock, &missing);
  Bind(handle, "criu_local_set_ghost_limit", &lib.set_ghost_limit, &missing);
  Bind(handle, "criu_local_set_file_locks", &lib.set_file_locks, &missing);
  Bind(handle, "criu_local_set_log_level", &lib.set_log_level, &missing);
  Bind(handle, "criu_local_set_notify_cb", &lib.set_notify_cb, &missing);
  Bind(handle, "criu_local_set_log_file", &lib.set_log_file, &missing);
  Bind(handle, "criu_local_dump", &lib.dump, &missing);
  Bind(handle, "criu_local_restore", &lib.restore, &missing);
  Bind(handle, "criu_local_get_version", &lib.get_version, &missing);
  if (!missing.empty()) {
    dlclose(handle);
    return Failure::System(
        ELIBBAD, name + " is not a usable libcriu: it lacks " + missing + "; install libcriu from CRIU 3.15 or later");
  }
  lib.path = name;
  auto [it, inserted] = loaded.emplace(name, lib);
  *out = &it->second;
  return Failure::None();
}

}  // namespace crftb::cr::criu
