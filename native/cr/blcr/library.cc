#include "cr/blcr/library.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cr/blcr/errors.h"

namespace crftb::cr::blcr {
namespace {

std::mutex loaded_mutex;
// Never erased: see the header on why libcr is never unloaded.
std::map<std::string, std::unique_ptr<Library>>& Loaded() {
  static auto* loaded = new std::map<std::string, std::unique_ptr<Library>>();
  return *loaded;
}

template <typename Fn>
bool Resolve(void* handle, const char* name, Fn* out, std::vector<std::string>* missing) {
  *out = reinterpret_cast<Fn>(dlsym(handle, name));
  if (*out == nullptr) missing->push_back(name);
  return *out != nullptr;
}

std::string LoadedFile(void* handle, const std::string& fallback) {
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) != 0 || map == nullptr || map->l_name == nullptr) return fallback;
  char* real = realpath(map->l_name, nullptr);
  std::string file = real ? real : map->l_name;
  free(real);
  return file;
}

Failure NotLoadable(const std::string& name, const std::string& why) {
  std::string message = "BLCR is not usable: " + name + " could not be loaded (" + why + ")";
  if (why.find("libftb") != std::string::npos)
    message += ". This libcr was built with FTB support and needs libftb.so on the library path";
  else
    message +=
        ". BLCR needs its blcr kernel module (Linux 2.6–3.17 only) and libcr.so.0; on this machine use engine 'criu'";
  return Failure::System(ENOSYS, message);
}

}  // namespace

const Library* Library::Load(const std::string& path, Failure* failure) {
  const std::string name = path.empty() ? kDefaultLibrary : path;
  std::lock_guard<std::mutex> lock(loaded_mutex);
  auto found = Loaded().find(name);
  if (found != Loaded().end()) return found->second.get();

  dlerror();
  void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    *failure = NotLoadable(name, why ? why : "unknown dlopen error");
    return nullptr;
  }

  std::unique_ptr<Library> lib(new Library());
  lib->handle_ = handle;
  lib->requested = name;
  lib->file = LoadedFile(handle, name);
  std::vector<std::string> missing;
  Resolve(handle, "cr_init", &lib->init, &missing);
  Resolve(handle, "cri_init_checkpoint_args_t", &lib->init_checkpoint_args, &missing);
  Resolve(handle, "cri_init_restart_args_t", &lib->init_restart_args, &missing);
  Resolve(handle, "cr_request_checkpoint", &lib->request_checkpoint, &missing);
  Resolve(handle, "cr_log_checkpoint", &lib->log_checkpoint, &missing);
  Resolve(handle, "cr_reap_checkpoint", &lib->reap_checkpoint, &missing);
  Resolve(handle, "cr_request_restart", &lib->request_restart, &missing);
  Resolve(handle, "cr_log_restart", &lib->log_restart, &missing);
  Resolve(handle, "cr_reap_restart", &lib->reap_restart, &missing);
  lib->publishes_ftb = dlsym(handle, "cri_ftb_init") != nullptr;

  if (!missing.empty()) {
    std::string list;
    for (const std::string& symbol : missing) list += (list.empty() ? "" : ", ") + symbol;
    // Keep the handle open anyway: a real libcr has already claimed its signal (see header).
    *failure = Failure::System(ELIBBAD, lib->file + " is not a BLCR 0.8 libcr: it lacks " + list +
                                            ". Install BLCR 0.8.x (libcr.so.0) or use engine 'criu'");
    return nullptr;
  }

  // The args initializers are libcr's own version check (§1.2): they reject any args version
  // other than the one this ABI describes.
  CheckpointArgs probe{};
  if (lib->init_checkpoint_args(kArgsVersion, &probe) != 0 || probe.version != kArgsVersion) {
    *failure = Failure::System(ELIBBAD, lib->file +
                                            " does not accept checkpoint arguments version 1; it is not the BLCR 0.8 "
                                            "libcr this engine speaks. Install BLCR 0.8.x or use engine 'criu'");
    return nullptr;
  }

  const Library* result = lib.get();
  Loaded().emplace(name, std::move(lib));
  return result;
}

Failure Library::InitThread(int* client_id) const {
  // One registration per (thread, library); libuv's pool threads live for the whole process.
  thread_local std::map<const Library*, int> registered;
  auto found = registered.find(this);
  if (found != registered.end()) {
    *client_id = found->second;
    return Failure::None();
  }
  errno = 0;
  int id = init();
  if (id < 0) {
    int err = errno ? errno : ENOSYS;
    return FailureFrom(err, "cr_init() in " + file + " failed");
  }
  registered.emplace(this, id);
  *client_id = id;
  return Failure::None();
}

}  // namespace crftb::cr::blcr
