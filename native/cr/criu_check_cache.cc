#include "cr/criu_check_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/read_file.h"
#include "common/unique_fd.h"
#include "common/xxh128.h"
#include "cr/criu_locator.h"
#include "cr/trusted_path.h"

namespace crftb::cr {

namespace {

constexpr char kHeader[] = "crftb-criu-check 1\n";
constexpr off_t kMaxFile = 64 * 1024;

std::string StatusLine(const char* name) {
  std::string status;
  if (!ReadWholeFile("/proc/self/status", &status, 1 << 20)) return "";
  const std::string prefix = std::string("\n") + name + ":";
  size_t at = status.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return status.substr(at, status.find('\n', at) - at);
}

// Creates `path` and its missing parents 0700 (a parent that exists is left as it is).
void MakeDirs(const std::string& path) {
  for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1))
    mkdir(path.substr(0, at).c_str(), 0700);
  mkdir(path.c_str(), 0700);
}

// The cache directory, opened and trusted, or an invalid fd.
UniqueFd OpenCacheDir(bool create) {
  const std::string base = CriuCacheDir();
  if (base.empty()) return UniqueFd();
  const std::string dir = base + "-check";
  if (create) MakeDirs(dir);
  int fd = -1;
  if (!OpenTrustedDir(dir, &fd).ok()) return UniqueFd();
  return UniqueFd(fd);
}

std::string FileName(const std::string& key) {
  Xxh128 hash;
  hash.Update(key.data(), key.size());
  return hash.HexFinal();
}

// The text stored under `key` + `kind` (after the header and the key, which it must repeat: a hash
// collision never answers for another binary), when a trusted file holds it.
bool Load(const std::string& key, const char* kind, std::string* value) {
  if (key.empty()) return false;
  UniqueFd dir = OpenCacheDir(false);
  if (!dir.valid()) return false;
  const std::string full = key + kind + "\n";
  UniqueFd file(openat(dir.get(), FileName(full).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st;
  if (!file.valid() || fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxFile ||
      !CheckTrusted(st, "").ok())
    return false;
  std::string text(static_cast<size_t>(st.st_size), '\0');
  if (pread(file.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) return false;
  const std::string expected = kHeader + full;
  if (text.compare(0, expected.size(), expected) != 0) return false;
  *value = text.substr(expected.size());
  return true;
}

void Store(const std::string& key, const char* kind, const std::string& value) {
  if (key.empty()) return;
  UniqueFd dir = OpenCacheDir(true);
  if (!dir.valid()) return;
  const std::string full = key + kind + "\n";
  const std::string name = FileName(full);
  const std::string temp = name + ".tmp-" + std::to_string(getpid());
  UniqueFd file(openat(dir.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!file.valid()) return;
  const std::string text = kHeader + full + value;
  const bool written = write(file.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
  file.reset();
  if (!written || renameat(dir.get(), temp.c_str(), dir.get(), name.c_str()) != 0) unlinkat(dir.get(), temp.c_str(), 0);
}

}  // namespace

std::string CriuCheckKey(const std::string& binary) {
  struct stat st;
  if (stat(binary.c_str(), &st) != 0) return "";
  std::string boot;
  if (!ReadWholeFile("/proc/sys/kernel/random/boot_id", &boot, 256) || boot.empty()) return "";
  char file[160];
  snprintf(file, sizeof file, "%llu %llu %lld %lld.%09ld %lld.%09ld", static_cast<unsigned long long>(st.st_dev),
           static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
           static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec, static_cast<long long>(st.st_ctim.tv_sec),
           st.st_ctim.tv_nsec);
  return binary + "\n" + file + "\nuid " + std::to_string(geteuid()) + " caps" + StatusLine("CapEff") + "\nboot " +
         boot.substr(0, boot.find('\n')) + "\n";
}

bool LoadCriuCheck(const std::string& key, CriuCheckResult* out) {
  std::string value;
  if (!Load(key, "check", &value)) return false;
  if (value.rfind("passed\n", 0) == 0) {
    *out = {true, value.substr(7)};
  } else if (value.rfind("failed\n", 0) == 0) {
    *out = {false, value.substr(7)};
  } else {
    return false;
  }
  return true;
}

void StoreCriuCheck(const std::string& key, const CriuCheckResult& result) {
  if (result.definite) Store(key, "check", (result.passed ? "passed\n" : "failed\n") + result.output);
}

bool LoadCriuVersion(const std::string& key, int* version) {
  std::string value;
  if (!Load(key, "version", &value)) return false;
  char* end = nullptr;
  long number = strtol(value.c_str(), &end, 10);
  if (end == value.c_str() || *end != '\n' || number <= 0 || number > 999999) return false;
  *version = static_cast<int>(number);
  return true;
}

void StoreCriuVersion(const std::string& key, int version) {
  if (version > 0) Store(key, "version", std::to_string(version) + "\n");
}

}  // namespace crftb::cr
