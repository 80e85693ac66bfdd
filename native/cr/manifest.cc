#include "cr/manifest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "common/unique_fd.h"
#include "common/xxh128.h"
#include "cr/trusted_path.h"

namespace crftb::cr {

namespace {

// Version 3 (XXH3-128 by 64 MiB segments) is what checkpoints write; versions 2 (XXH3-128 of the
// whole file) and 1 (SHA-256, crftb before XXH3 and CRFTB_MANIFEST_SHA256=1) are still verified,
// so earlier checkpoints stay restartable (manifest.h).
using Checksum = PendingChecksums::Kind;
constexpr const char* kHeaderSha256 = "crftb-manifest 1";
constexpr const char* kHeaderXxh128 = "crftb-manifest 2 xxh3-128";
constexpr const char* kHeaderXxh128Segments = "crftb-manifest 3 xxh3-128/64MiB";
constexpr unsigned long long kSegmentBytes = 64ull << 20;
// Threads hashing one large image while a checkpoint commits (the caller waits for them); a
// restart verifies on one thread, beside the engine's restore.
constexpr unsigned kMaxHashThreads = 4;
constexpr int kMaxChain = 64;  // incremental parents followed; CRIU's own chains are far shorter

const char* HeaderOf(Checksum checksum) {
  return checksum == Checksum::kSha256   ? kHeaderSha256
         : checksum == Checksum::kXxh128 ? kHeaderXxh128
                                         : kHeaderXxh128Segments;
}
const char* NameOf(Checksum checksum) { return checksum == Checksum::kSha256 ? "SHA-256" : "XXH3-128 checksum"; }
size_t HexDigits(Checksum checksum) { return checksum == Checksum::kSha256 ? 64 : 32; }

// What a checkpoint writes: version 3, or SHA-256 (version 1) when the writing process has
// CRFTB_MANIFEST_SHA256=1 - for checking images with sha256sum. The reader never asks.
Checksum WrittenChecksum() {
  const char* sha256 = getenv("CRFTB_MANIFEST_SHA256");
  return sha256 && strcmp(sha256, "1") == 0 ? Checksum::kSha256 : Checksum::kXxh128Segments;
}

// Version 3's rule for a file of more than one segment: XXH3-128 over the segments' digests, each
// as the 16 bytes xxhsum prints in hex.
std::string CombineSegments(const std::vector<std::string>& segment_hex) {
  std::vector<uint8_t> digests;
  digests.reserve(segment_hex.size() * 16);
  for (const std::string& hex : segment_hex)
    for (size_t i = 0; i + 1 < hex.size(); i += 2)
      digests.push_back(static_cast<uint8_t>(stoi(hex.substr(i, 2), nullptr, 16)));
  Xxh128 hash;
  hash.Update(digests.data(), digests.size());
  return hash.HexFinal();
}

struct Entry {
  std::string hash;
  unsigned long long size = 0;
};

struct Manifest {
  Checksum checksum = Checksum::kXxh128;
  std::map<std::string, Entry> entries;
};

bool EndsWith(const std::string& s, const char* suffix) {
  size_t n = strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Files that are not images: engine logs, the restore's statistics, the manifest itself.
bool NotAnImage(const std::string& name) {
  return EndsWith(name, ".log") || name == "stats-restore" || name == kManifestFile ||
         name.rfind(std::string(kManifestFile) + ".tmp", 0) == 0;
}

Failure BadMessage(const std::string& message) { return Failure::System(EBADMSG, message); }

// A listing of `dir_fd` from its start, through a copy of the descriptor (closedir closes it).
Failure OpenListing(int dir_fd, const std::string& dir, DIR** out) {
  int copy = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return Failure::FromErrno(errno, "cannot read the images directory " + dir).At("fcntl", dir);
  DIR* listing = fdopendir(copy);
  if (!listing) {
    int err = errno;
    close(copy);
    return Failure::FromErrno(err, "cannot read the images directory " + dir).At("fdopendir", dir);
  }
  rewinddir(listing);  // the copy shares its position with dir_fd, which another listing may have moved
  *out = listing;
  return Failure::None();
}

// Regular files of the directory by name (symlinks such as "parent" are not files here).
Failure ListFiles(int dir_fd, const std::string& dir, std::vector<std::string>* out) {
  DIR* listing = nullptr;
  if (Failure f = OpenListing(dir_fd, dir, &listing); !f.ok()) return f;
  while (dirent* entry = readdir(listing)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) out->push_back(name);
  }
  closedir(listing);
  return Failure::None();
}

// Reads `length` bytes of `fd` from `from` (or to its end, if sooner) through a `Hash`: *hex is
// its digest, *read_bytes how many there were. pread: threads hashing segments share the fd.
template <typename Hash>
Failure HashRange(int fd, const std::string& path, off_t from, unsigned long long length, std::string* hex,
                  unsigned long long* read_bytes) {
  // Small enough to stay in the L2 cache between the copy out of the page cache and the hash.
  std::vector<uint8_t> buffer(256 << 10);
  Hash hash;
  *read_bytes = 0;
  while (*read_bytes < length) {
    const size_t want = static_cast<size_t>(std::min<unsigned long long>(buffer.size(), length - *read_bytes));
    ssize_t n = pread(fd, buffer.data(), want, from + static_cast<off_t>(*read_bytes));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure::FromErrno(errno, "cannot read the image " + path).At("pread", path);
    if (n == 0) break;
    hash.Update(buffer.data(), static_cast<size_t>(n));
    *read_bytes += static_cast<unsigned long long>(n);
  }
  *hex = hash.HexFinal();
  return Failure::None();
}

// The whole of `fd` through a `Hash`: out->hash is its hex digest, out->size the byte count.
template <typename Hash>
Failure HashWith(int fd, const std::string& path, Entry* out) {
  return HashRange<Hash>(fd, path, 0, ~0ull, &out->hash, &out->size);
}

// Version 3 of a file larger than one segment: its segments hashed by up to `threads` threads.
Failure HashSegments(int fd, const std::string& path, unsigned long long size, unsigned threads, Entry* out) {
  const size_t segments = static_cast<size_t>((size + kSegmentBytes - 1) / kSegmentBytes);
  std::vector<std::string> hex(segments);
  std::vector<unsigned long long> got(segments, 0);
  std::atomic<size_t> next{0};
  std::mutex failed_mu;
  Failure failed;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < segments;) {
      const unsigned long long from = i * kSegmentBytes;
      Failure f =
          HashRange<Xxh128>(fd, path, static_cast<off_t>(from), std::min(kSegmentBytes, size - from), &hex[i], &got[i]);
      if (!f.ok()) {
        std::lock_guard<std::mutex> lock(failed_mu);
        if (failed.ok()) failed = f;
      }
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned k = 1; k < std::min<size_t>(threads, segments); ++k) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no thread to be had: this one does the rest
    }
  }
  work();
  for (std::thread& helper : helpers) helper.join();
  if (!failed.ok()) return failed;
  out->size = 0;
  for (unsigned long long n : got) out->size += n;
  // A file that changed length while it was read does not match its listed size anyway.
  if (out->size != size) return Failure::System(EIO, "the image " + path + " changed while it was read");
  out->hash = CombineSegments(hex);
  return Failure::None();
}

Failure HashFile(int dir_fd, const std::string& dir, const std::string& name, Checksum checksum, unsigned threads,
                 Entry* out) {
  const std::string path = dir + "/" + name;
  UniqueFd fd(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return Failure::FromErrno(errno, "cannot read the image " + path).At("open", path);
  if (checksum == Checksum::kSha256) return HashWith<Sha256>(fd.get(), path, out);
  struct stat st;
  if (checksum == Checksum::kXxh128Segments && fstat(fd.get(), &st) == 0 &&
      static_cast<unsigned long long>(st.st_size) > kSegmentBytes)
    return HashSegments(fd.get(), path, static_cast<unsigned long long>(st.st_size), threads, out);
  return HashWith<Xxh128>(fd.get(), path, out);
}

Failure WriteAll(int fd, const std::string& text, const std::string& path) {
  for (size_t done = 0; done < text.size();) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure::FromErrno(errno, "cannot write the checkpoint manifest " + path).At("write", path);
    done += static_cast<size_t>(n);
  }
  return Failure::None();
}

Failure ReadManifest(int dir_fd, const std::string& dir, Manifest* out) {
  const std::string path = dir + "/" + kManifestFile;
  UniqueFd fd(openat(dir_fd, kManifestFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT)
      return BadMessage(dir + " was written by crftb but has no checksum manifest (" + kManifestFile +
                        "): the checkpoint is incomplete or was altered; restart from another checkpoint");
    return Failure::FromErrno(errno, "cannot read the checkpoint manifest " + path).At("open", path);
  }
  std::string text;
  char chunk[4096];
  for (;;) {
    ssize_t n = read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Failure::FromErrno(errno, "cannot read the checkpoint manifest " + path).At("read", path);
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > (16u << 20)) return BadMessage("the checkpoint manifest " + path + " is implausibly large");
  }
  size_t line_start = 0;
  bool header = true;
  while (line_start < text.size()) {
    size_t end = text.find('\n', line_start);
    if (end == std::string::npos) return BadMessage("the checkpoint manifest " + path + " is truncated");
    std::string line = text.substr(line_start, end - line_start);
    line_start = end + 1;
    if (header) {
      if (line == kHeaderXxh128Segments)
        out->checksum = Checksum::kXxh128Segments;
      else if (line == kHeaderXxh128)
        out->checksum = Checksum::kXxh128;
      else if (line == kHeaderSha256)
        out->checksum = Checksum::kSha256;
      else
        return BadMessage(path + " is not a crftb checkpoint manifest crftb can read (first line '" +
                          line.substr(0, 40) +
                          "'); restart it with the crftb that wrote it, or from another checkpoint");
      header = false;
      continue;
    }
    // "<hex digest> <size> <name>"
    const size_t digits = HexDigits(out->checksum);
    size_t space = line.find(' ', digits + 1);
    char* size_end = nullptr;
    unsigned long long size =
        line.size() > digits + 2 && line[digits] == ' ' ? strtoull(line.c_str() + digits + 1, &size_end, 10) : 0;
    if (!size_end || space == std::string::npos || size_end != line.c_str() + space ||
        !isdigit(static_cast<unsigned char>(line[digits + 1])) || line.find_first_not_of("0123456789abcdef") < digits)
      return BadMessage("the checkpoint manifest " + path + " has a malformed line: '" + line.substr(0, 100) + "'");
    std::string name = line.substr(space + 1);
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)
      return BadMessage("the checkpoint manifest " + path + " names a file outside its directory: '" + name + "'");
    out->entries[name] = Entry{line.substr(0, digits), size};
  }
  if (header) return BadMessage("the checkpoint manifest " + path + " is empty");
  return Failure::None();
}

// What may stand in a generation besides its listed images: regular files only, and one
// "parent" link of the form "../<n>" (CRIU's parent images, inside the same D.gens). Anything
// else - a symlink, a device, a fifo, a directory - was not written by a checkpoint.
Failure CheckEntries(int dir_fd, const std::string& dir, std::string* parent) {
  DIR* listing = nullptr;
  if (Failure f = OpenListing(dir_fd, dir, &listing); !f.ok()) return f;
  Failure failure;
  while (dirent* entry = readdir(listing)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    if (S_ISREG(st.st_mode)) continue;
    if (S_ISLNK(st.st_mode) && name == "parent") {
      char target[64];
      ssize_t n = readlinkat(dir_fd, "parent", target, sizeof target - 1);
      std::string value = n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
      if (value.size() > 3 && value.size() < 13 && value.compare(0, 3, "../") == 0 &&
          value.find_first_not_of("0123456789", 3) == std::string::npos) {
        *parent = value;
        continue;
      }
    }
    failure = BadMessage(dir + "/" + name + " is " +
                         (S_ISLNK(st.st_mode)   ? "a symlink"
                          : S_ISDIR(st.st_mode) ? "a directory"
                                                : "a special file") +
                         ", which no checkpoint writes: the images were altered after the checkpoint; "
                         "restart from another checkpoint");
    break;
  }
  closedir(listing);
  return failure;
}

Failure LayoutOne(const std::string& dir, int depth, PendingChecksums* pending) {
  int raw_fd = -1;
  if (Failure f = OpenTrustedDir(dir, &raw_fd); !f.ok()) return f;
  UniqueFd dir_fd(raw_fd);
  std::string parent;
  if (Failure f = CheckEntries(dir_fd.get(), dir, &parent); !f.ok()) return f;
  Manifest manifest;
  if (Failure f = ReadManifest(dir_fd.get(), dir, &manifest); !f.ok()) return f;
  const std::map<std::string, Entry>& expected = manifest.entries;
  std::vector<std::string> present;
  if (Failure f = ListFiles(dir_fd.get(), dir, &present); !f.ok()) return f;
  for (const std::string& name : present)
    if (!NotAnImage(name) && !expected.count(name))
      return BadMessage(dir + "/" + name +
                        " is not in the checkpoint manifest: the images were altered after "
                        "the checkpoint; restart from another checkpoint");
  for (const auto& [name, want] : expected) {
    struct stat st;
    if (fstatat(dir_fd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      return BadMessage("the image " + dir + "/" + name + " listed in the checkpoint manifest is missing");
    if (static_cast<unsigned long long>(st.st_size) != want.size)
      return BadMessage("the image " + dir + "/" + name + " is " + std::to_string(st.st_size) +
                        " bytes, the manifest says " + std::to_string(want.size) +
                        ": it was truncated or changed after the checkpoint");
    pending->images.push_back({dir, name, want.hash, want.size, manifest.checksum});
  }
  if (!parent.empty()) {
    if (depth >= kMaxChain)
      return BadMessage(dir + " has a chain of more than " + std::to_string(kMaxChain) + " parent images");
    size_t slash = dir.rfind('/');
    return LayoutOne((slash == std::string::npos ? std::string(".") : dir.substr(0, slash)) + "/" + parent.substr(3),
                     depth + 1, pending);
  }
  return Failure::None();
}

}  // namespace

bool IsImageFile(const std::string& name) { return !NotAnImage(name) && name != "crftb-generation"; }

Failure WriteManifest(const std::string& dir) {
  UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) return Failure::FromErrno(errno, "cannot open the images directory " + dir).At("open", dir);
  std::vector<std::string> names;
  if (Failure f = ListFiles(dir_fd.get(), dir, &names); !f.ok()) return f;
  const Checksum checksum = WrittenChecksum();
  std::string text = std::string(HeaderOf(checksum)) + "\n";
  std::set<std::string> sorted(names.begin(), names.end());
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, kMaxHashThreads);
  for (const std::string& name : sorted) {
    if (NotAnImage(name)) continue;
    if (name.find('\n') != std::string::npos)
      return BadMessage("the images directory " + dir + " holds a file whose name has a newline");
    Entry entry;
    if (Failure f = HashFile(dir_fd.get(), dir, name, checksum, threads, &entry); !f.ok()) return f;
    text += entry.hash + " " + std::to_string(entry.size) + " " + name + "\n";
  }
  const std::string temp = std::string(kManifestFile) + ".tmp";
  const std::string path = dir + "/" + kManifestFile;
  UniqueFd fd(openat(dir_fd.get(), temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return Failure::FromErrno(errno, "cannot write the checkpoint manifest " + path).At("open", path);
  // Not fsynced: neither are the images (CRIU does not sync them, nor does the CLI), so after a
  // crash a synced manifest could only vouch for images that may be gone; an unsynced one that
  // is lost or short makes the restart refuse those images all the same (EBADMSG).
  Failure written = WriteAll(fd.get(), text, path);
  fd.reset();
  if (written.ok() && renameat(dir_fd.get(), temp.c_str(), dir_fd.get(), kManifestFile) != 0)
    written = Failure::FromErrno(errno, "cannot write the checkpoint manifest " + path).At("rename", path);
  if (!written.ok()) unlinkat(dir_fd.get(), temp.c_str(), 0);
  return written;
}

Failure CheckManifestLayout(const std::string& dir, PendingChecksums* pending) {
  pending->images.clear();
  return LayoutOne(dir, 0, pending);
}

Failure VerifyChecksums(const PendingChecksums& pending) {
  UniqueFd dir_fd;
  std::string open_dir;
  for (const PendingChecksums::Image& image : pending.images) {
    if (image.dir != open_dir) {
      int raw_fd = -1;
      if (Failure f = OpenTrustedDir(image.dir, &raw_fd); !f.ok()) return f;
      dir_fd = UniqueFd(raw_fd);
      open_dir = image.dir;
    }
    Entry got;
    if (Failure f = HashFile(dir_fd.get(), image.dir, image.name, image.kind, 1, &got); !f.ok()) return f;
    if (got.size != image.size || got.hash != image.hash)
      return BadMessage("the image " + image.dir + "/" + image.name + " does not match its " + NameOf(image.kind) +
                        " in the checkpoint manifest: it was changed after the checkpoint");
  }
  return Failure::None();
}

std::string SegmentedXxh128(const uint8_t* data, size_t size) {
  auto of = [](const uint8_t* bytes, size_t n) {
    Xxh128 hash;
    hash.Update(bytes, n);
    return hash.HexFinal();
  };
  if (size <= kSegmentBytes) return of(data, size);
  std::vector<std::string> segments;
  for (size_t from = 0; from < size; from += kSegmentBytes)
    segments.push_back(of(data + from, std::min<size_t>(kSegmentBytes, size - from)));
  return CombineSegments(segments);
}

}  // namespace crftb::cr
