#include "cr/criu_locator.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "cr/criu_check.h"

namespace crftb::cr {

namespace {

// 0 when `path` is an executable regular file, else the errno that explains why not.
int CheckExecutable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (access(path.c_str(), X_OK) != 0) return errno;
  return 0;
}

std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char* cwd = getcwd(nullptr, 0);
  std::string out = cwd ? std::string(cwd) + "/" + path : path;
  free(cwd);
  return out;
}

Failure Unusable(const std::string& path, const std::string& origin, int err) {
  return Failure::System(err, "CRIU named by " + origin + " (" + path +
                                  ") is not an executable file: " + strerror(err) + "; fix or unset it")
      .At("", path);  // several checks (stat, access), not one call
}

}  // namespace

Failure LocateCriu(const std::string& explicit_path, const std::string& package_root, CriuLocation* out) {
  if (!explicit_path.empty()) {
    if (int err = CheckExecutable(explicit_path)) return Unusable(explicit_path, "the criu option", err);
    *out = {Absolute(explicit_path), "option"};
    return Failure::None();
  }
  if (const char* env = getenv("CRFTB_CRIU"); env && *env) {
    if (int err = CheckExecutable(env)) return Unusable(env, "CRFTB_CRIU", err);
    *out = {Absolute(env), "env"};
    return Failure::None();
  }
  std::vector<CriuLocation> found;
  if (!package_root.empty()) {
    std::string provisioned = package_root + "/.cache/criu/bin/criu";
    if (CheckExecutable(provisioned) == 0) found.push_back({provisioned, "provisioned"});
  }
  if (std::string cache = CriuCacheDir(); !cache.empty()) {
    std::string cached = cache + "/bin/criu";
    if (CheckExecutable(cached) == 0) found.push_back({cached, "cache"});
  }
  if (const char* path = getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (dir.empty()) continue;
      std::string candidate = dir + "/criu";
      if (CheckExecutable(candidate) == 0) {
        found.push_back({Absolute(candidate), "path"});
        break;
      }
    }
  }
  if (found.empty()) {
    return Failure::System(ENOENT, "CRIU was not found (no criu option, no CRFTB_CRIU, nothing in " + CriuCacheDir() +
                                       ", no criu on PATH); " + kProvisionCriuHint +
                                       ", or set CRFTB_CRIU to a criu that passes `criu check`");
  }
  // With a single candidate there is nothing to choose: its own failure will say what is wrong.
  if (found.size() > 1) {
    for (const CriuLocation& candidate : found) {
      if (CheckCriu(candidate.path).passed) {
        *out = candidate;
        return Failure::None();
      }
    }
  }
  *out = found.front();
  return Failure::None();
}

std::string CriuCacheDir() {
  if (const char* dir = getenv("CRFTB_CRIU_CACHE"); dir && *dir) return Absolute(dir);
  if (geteuid() == 0) return "/var/cache/crftb/criu";
  if (const char* xdg = getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/') return std::string(xdg) + "/crftb/criu";
  if (const char* home = getenv("HOME"); home && home[0] == '/') return std::string(home) + "/.cache/crftb/criu";
  return "";
}

}  // namespace crftb::cr
