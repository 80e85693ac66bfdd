#include "cr/images.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "common/read_file.h"
#include "common/unique_fd.h"
#include "cr/abandoned.h"
#include "cr/manifest.h"
#include "cr/scope.h"
#include "cr/trusted_path.h"

namespace crftb::cr {

namespace {

// "<root pid> <track_memory 0|1>\npids <pid>...\ntuning <connections> <network lock>
// <ext unix sockets 0|1> <shell job 0|1>\n" (EngineTuning's numbers). (Earlier versions added "manifest <0|1>";
// it is ignored: whether a manifest is needed never depends on what the directory says.)
constexpr const char* kMetaFile = "crftb-generation";

std::string Absolute(const std::string& path) {
  if (!path.empty() && path[0] == '/') return path;
  char cwd[PATH_MAX];
  return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

bool IsLog(const std::string& name) { return name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0; }

// Removes `path` and all below it, except the entries directly in it that `keep` names (then
// `path` itself stays too, since rmdir fails on what is left).
void RemoveTree(const std::string& path, bool (*keep)(const std::string& name) = nullptr) {
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == ".." || (keep && keep(name))) continue;
      std::string child = path + "/" + name;
      struct stat st;
      if (lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        RemoveTree(child);
      else
        unlink(child.c_str());
    }
    closedir(dir);
  }
  rmdir(path.c_str());
}

// The names in `dir` but . and .., read at once (so the caller may then change the directory).
std::vector<std::string> EntryNames(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* listing = opendir(dir.c_str())) {
    while (dirent* entry = readdir(listing)) {
      const std::string name = entry->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    closedir(listing);
  }
  return names;
}

// Whether `name` is a generation directory's of D.gens (a number), which goes in *number.
bool GenerationNumber(const std::string& name, unsigned* number) {
  char* end = nullptr;
  unsigned long n = strtoul(name.c_str(), &end, 10);
  if (name.empty() || *end != '\0') return false;
  *number = static_cast<unsigned>(n);
  return true;
}

// Removes the generation directories of D.gens that `drop` selects.
template <typename Drop>
void RemoveGenerations(const std::string& gens, Drop drop) {
  unsigned n = 0;
  for (const std::string& name : EntryNames(gens))
    if (GenerationNumber(name, &n) && drop(n)) RemoveTree(gens + "/" + name);
}

// Superseded generations are set aside under the lock by a rename to ".superseded-<n>-<pid>",
// and removed after the request has resolved, on a thread of their own (abandoned.h): freeing
// 1 GiB of images took up to 1 s here (ext4 mounted with discard), time the caller should not
// wait for. One whose process did not live to remove it is removed by the next checkpoint.
constexpr char kSupersededPrefix[] = ".superseded-";

// The pid in a ".superseded-<n>-<pid>" name, 0 for any other name.
pid_t SupersededBy(const std::string& name) {
  if (name.compare(0, sizeof kSupersededPrefix - 1, kSupersededPrefix) != 0) return 0;
  size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash + 1 >= name.size()) return 0;
  if (name.find_first_not_of("0123456789", dash + 1) != std::string::npos) return 0;
  return static_cast<pid_t>(strtol(name.c_str() + dash + 1, nullptr, 10));
}

// Renames the generations `drop` selects out of the way; returns their new paths. One that cannot
// be renamed is removed at once.
template <typename Drop>
std::vector<std::string> SetAsideGenerations(const std::string& gens, Drop drop) {
  std::vector<std::string> aside;
  unsigned n = 0;
  for (const std::string& name : EntryNames(gens)) {
    if (!GenerationNumber(name, &n) || !drop(n)) continue;
    const std::string from = gens + "/" + name;
    const std::string to = gens + "/" + kSupersededPrefix + name + "-" + std::to_string(getpid());
    if (rename(from.c_str(), to.c_str()) == 0)
      aside.push_back(to);
    else
      RemoveTree(from);
  }
  return aside;
}

// Removes what a process that is gone set aside and did not live to remove.
void RemoveOrphanedSuperseded(const std::string& gens) {
  for (const std::string& name : EntryNames(gens)) {
    const pid_t owner = SupersededBy(name);
    if (owner > 0 && !ProcessRunning(owner)) RemoveTree(gens + "/" + name);
  }
}

// The generation number a crftb link's target names ("<base of D>.gens/<n>"), 0 when the
// target has any other form (then it is not crftb's link).
unsigned GenerationOfTarget(const std::string& link, const std::string& target) {
  const std::string prefix = BaseName(link) + ".gens/";
  if (target.compare(0, prefix.size(), prefix) != 0 || target.size() == prefix.size() ||
      target.size() > prefix.size() + 9)
    return 0;
  const std::string digits = target.substr(prefix.size());
  if (digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  return static_cast<unsigned>(strtoul(digits.c_str(), nullptr, 10));
}

std::string ReadLink(const std::string& link) {
  char target[PATH_MAX];
  ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

// D as it stands: absent (*number 0), or a trusted crftb link to generation *number. EPERM for a
// link of someone else's, EEXIST for anything that is not crftb's link; an empty directory the
// caller made for us (mkdtemp) is removed and counts as absent.
Failure InspectLink(const std::string& link, unsigned* number) {
  *number = 0;
  struct stat st;
  if (lstat(link.c_str(), &st) != 0) {
    if (errno == ENOENT) return Failure::None();
    return Failure::FromErrno(errno, "cannot inspect " + link).At("lstat", link);
  }
  if (Failure f = CheckTrusted(st, link); !f.ok()) return f;
  if (S_ISDIR(st.st_mode)) {
    if (rmdir(link.c_str()) != 0) {
      // Not empty: the directory is someone's, which is EEXIST for the caller, not rmdir's failure.
      const int err = errno;
      return Failure::System(err == ENOTEMPTY ? EEXIST : err,
                             link +
                                 " is a directory crftb did not write; give a new path (crftb makes it "
                                 "a link to its image generations) or remove it")
          .At(err == ENOTEMPTY ? "" : "rmdir", link);
    }
    return Failure::None();
  }
  if (S_ISLNK(st.st_mode)) *number = GenerationOfTarget(link, ReadLink(link));
  if (*number == 0) return Failure::System(EEXIST, link + " exists and is not a crftb images directory");
  return Failure::None();
}

bool ReadMeta(const std::string& dir, pid_t* root, bool* tracked) {
  GenerationRecord record;
  if (!ReadGenerationRecord(dir, &record)) return false;
  *root = record.root;
  *tracked = record.track_memory;
  return true;
}

Failure WriteRecord(const std::string& dir, const GenerationRecord& record) {
  std::string text = std::to_string(record.root) + " " + (record.track_memory ? "1" : "0") + "\npids";
  for (pid_t pid : record.pids) text += " " + std::to_string(pid);
  const EngineTuning& t = record.tuning;
  text += "\ntuning " + std::to_string(static_cast<int>(t.connections)) + " " +
          std::to_string(static_cast<int>(t.network_lock)) + " " + (t.ext_unix_sockets ? "1" : "0") + " " +
          (t.shell_job ? "1" : "0") + "\n";
  const std::string path = dir + "/" + kMetaFile;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Failure::FromErrno(errno, "cannot write " + path).At("open", path);
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  int err = errno;
  close(fd);
  return ok ? Failure::None() : Failure::FromErrno(err ? err : EIO, "cannot write " + path).At("write", path);
}

// "pid N is alive (comm)" when it is, or "" when the pid is free for a restore.
std::string PidInUse(pid_t pid) {
  std::string line;
  if (!ReadWholeFile("/proc/" + std::to_string(pid) + "/stat", &line) || line.empty()) return "";
  size_t open_paren = line.find('('), close_paren = line.rfind(')');
  if (open_paren == std::string::npos || close_paren == std::string::npos || close_paren + 2 >= line.size()) return "";
  std::string comm = line.substr(open_paren + 1, close_paren - open_paren - 1);
  if (line[close_paren + 2] == 'Z')
    return "pid " + std::to_string(pid) + " (" + comm + ") has exited but its parent has not reaped it yet";
  return "pid " + std::to_string(pid) + " (" + comm + ") is still running";
}

bool IsZombie(pid_t pid) {
  std::string line;
  if (!ReadWholeFile("/proc/" + std::to_string(pid) + "/stat", &line)) return false;
  size_t close_paren = line.rfind(')');
  return close_paren != std::string::npos && close_paren + 2 < line.size() && line[close_paren + 2] == 'Z';
}

// Polls (every 10 ms) until none of `pids` is a zombie, `reap.ms` have passed, or the request is
// interrupted. Whatever is still in use afterwards is reported by the caller.
void AwaitReaped(const std::vector<pid_t>& pids, const ReapWait& reap) {
  for (int waited = 0; waited < reap.ms; waited += 10) {
    bool zombie = false;
    for (pid_t pid : pids) zombie = zombie || IsZombie(pid);
    if (!zombie || (reap.interrupted && reap.interrupted())) return;
    usleep(10000);
  }
}

}  // namespace

Failure PrepareDirectory(const std::string& dir_arg, bool incremental, pid_t root, Generation* out) {
  std::string link = Absolute(dir_arg);
  while (link.size() > 1 && link.back() == '/') link.pop_back();
  unsigned previous = 0;
  if (Failure f = InspectLink(link, &previous); !f.ok()) return f;
  const std::string gens = link + ".gens";
  if (mkdir(gens.c_str(), 0700) != 0 && errno != EEXIST)
    return Failure::FromErrno(errno, "cannot create the images directory " + gens).At("mkdir", gens);
  int raw_fd = -1;
  if (Failure f = OpenTrustedDir(gens, &raw_fd); !f.ok()) return f;
  UniqueFd gens_fd(raw_fd);
  ImagesLock lock;
  if (Failure f = ImagesLock::Acquire(gens_fd.get(), gens, link, &lock); !f.ok()) return f;
  // Read again under the lock: another request may have committed since the look above, and a
  // number read before the lock would name its generation, which is then removed and rewritten.
  if (Failure f = InspectLink(link, &previous); !f.ok()) return f;
  // Under the lock nothing else writes here: whatever lies above the current generation was left
  // by an attempt that failed (its log) or was abandoned by a process that died.
  RemoveGenerations(gens, [previous](unsigned n) { return n > previous; });
  RemoveOrphanedSuperseded(gens);
  unsigned next = previous + 1;
  for (;; ++next) {
    if (mkdirat(gens_fd.get(), std::to_string(next).c_str(), 0700) == 0) break;
    if (errno != EEXIST) {
      const std::string generation = gens + "/" + std::to_string(next);
      return Failure::FromErrno(errno, "cannot create the images directory " + generation).At("mkdir", generation);
    }
  }
  const std::string path = gens + "/" + std::to_string(next);
  if (Failure f = OpenTrustedDirAt(gens_fd.get(), std::to_string(next), path, &raw_fd); !f.ok()) return f;
  close(raw_fd);
  out->link = link;
  out->path = path;
  out->number = next;
  out->is_file = false;
  out->parent.clear();
  out->lock = std::move(lock);
  if (incremental && previous > 0) {
    pid_t previous_root = 0;
    bool tracked = false;
    const std::string previous_path = gens + "/" + std::to_string(previous);
    if (OpenTrustedDirAt(gens_fd.get(), std::to_string(previous), previous_path, &raw_fd).ok()) {
      close(raw_fd);
      if (ReadMeta(previous_path, &previous_root, &tracked) && tracked && previous_root == root)
        out->parent = "../" + std::to_string(previous);
    }
  }
  return Failure::None();
}

Failure PrepareFile(const std::string& file_arg, Generation* out) {
  std::string file = Absolute(file_arg);
  out->link = file;
  out->path = file + ".tmp-" + std::to_string(getpid());
  out->is_file = true;
  unlink(out->path.c_str());  // our own leftover, from a request of this pid that died
  int fd = open(out->path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return Failure::FromErrno(errno, "cannot create the checkpoint file " + out->path).At("open", out->path);
  close(fd);
  return Failure::None();
}

bool ReadGenerationRecord(const std::string& dir, GenerationRecord* out) {
  std::string text;
  if (!ReadWholeFile(dir + "/" + kMetaFile, &text, 1 << 20)) return false;
  std::istringstream meta(text);
  int track = 0;
  if (!(meta >> out->root >> track)) return false;
  out->track_memory = track != 0;
  out->pids.clear();
  std::string line, word;
  std::getline(meta, line);
  while (std::getline(meta, line)) {
    std::istringstream fields(line);
    fields >> word;
    if (word == "pids") {
      for (pid_t pid; fields >> pid;) out->pids.push_back(pid);
    } else if (word == "tuning") {
      int connections = 0, lock = 0, ext = 0, shell = 0;
      if (fields >> connections >> lock >> ext >> shell && connections >= 0 && connections <= 2 && lock >= 0 &&
          lock <= 2) {
        out->tuning.connections = static_cast<Connections>(connections);
        out->tuning.network_lock = static_cast<NetworkLock>(lock);
        out->tuning.ext_unix_sockets = ext != 0;
        out->tuning.shell_job = shell != 0;
      }
    }
  }
  if (out->pids.empty()) out->pids.push_back(out->root);
  return true;
}

Failure CheckRestorable(const std::string& dir_arg, const std::string& log, std::string* images,
                        GenerationRecord* record, bool* recorded_out, std::optional<PendingChecksums>* checksums,
                        const ReapWait& reap) {
  std::string dir = Absolute(dir_arg);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  struct stat st;
  if (lstat(dir.c_str(), &st) != 0) return Failure::FromErrno(errno, "cannot restart from " + dir).At("lstat", dir);
  int raw_fd = -1;
  bool crftb_link = false;
  if (S_ISLNK(st.st_mode)) {
    if (Failure f = CheckTrusted(st, dir); !f.ok()) return f;
    const unsigned number = GenerationOfTarget(dir, ReadLink(dir));
    if (number == 0)
      return Failure::System(EINVAL, "cannot restart from " + dir +
                                         ": it is a symlink crftb did not make; "
                                         "pass the images directory itself");
    const std::string gens = dir + ".gens";
    if (Failure f = OpenTrustedDir(gens, &raw_fd); !f.ok()) return f;
    UniqueFd gens_fd(raw_fd);
    *images = gens + "/" + std::to_string(number);
    if (Failure f = OpenTrustedDirAt(gens_fd.get(), std::to_string(number), *images, &raw_fd); !f.ok()) return f;
    crftb_link = true;
  } else {
    *images = dir;
    if (Failure f = OpenTrustedDir(dir, &raw_fd); !f.ok()) return f;
  }
  UniqueFd images_fd(raw_fd);
  const bool recorded = ReadGenerationRecord(*images, record);
  *recorded_out = recorded;
  const bool has_manifest = fstatat(images_fd.get(), kManifestFile, &st, AT_SYMLINK_NOFOLLOW) == 0;
  checksums->reset();
  if (crftb_link || recorded || has_manifest) {
    PendingChecksums pending;
    if (Failure f = CheckManifestLayout(*images, &pending); !f.ok()) return f;
    *checksums = std::move(pending);
  }
  if (recorded) {
    AwaitReaped(record->pids, reap);
    for (pid_t pid : record->pids) {
      std::string busy = PidInUse(pid);
      if (busy.empty()) continue;
      // A zombie passes by itself (its parent reaps it): EAGAIN, retryable. A running process
      // does not: EBUSY.
      if (IsZombie(pid))
        return Failure::System(EAGAIN, "cannot restart from " + dir + " yet: " + busy + " (waited " +
                                           std::to_string(reap.ms) +
                                           " ms, reapWaitMs), and the restore needs that pid; retry the restart "
                                           "(option retry) or wait longer (reapWaitMs)");
      return Failure::System(EBUSY, "cannot restart from " + dir + ": " + busy +
                                        ", and the restore needs that pid; stop the original first "
                                        "(restarting while it runs would give two copies)");
    }
  }
  if (!log.empty()) {
    if (unlinkat(images_fd.get(), log.c_str(), 0) != 0 && errno != ENOENT)
      return Failure::FromErrno(errno, "cannot replace the old log " + *images + "/" + log)
          .At("unlink", *images + "/" + log);
    UniqueFd log_fd(openat(images_fd.get(), log.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!log_fd.valid())
      return Failure::FromErrno(errno, "cannot create the log " + *images + "/" + log).At("open", *images + "/" + log);
  }
  return Failure::None();
}

Failure Commit(Generation& generation, const GenerationRecord& record) {
  if (generation.is_file) {
    if (rename(generation.path.c_str(), generation.link.c_str()) != 0)
      return Failure::FromErrno(errno, "cannot move the checkpoint into place at " + generation.link)
          .At("rename", generation.link);
    return Failure::None();
  }
  if (Failure f = WriteRecord(generation.path, record); !f.ok()) return f;
  if (Failure f = WriteManifest(generation.path); !f.ok()) return f;
  const std::string gens_name = BaseName(generation.link) + ".gens";
  const std::string target = gens_name + "/" + std::to_string(generation.number);
  const std::string temp = generation.link + ".link-" + std::to_string(getpid());
  unlink(temp.c_str());
  if (symlink(target.c_str(), temp.c_str()) != 0 || rename(temp.c_str(), generation.link.c_str()) != 0) {
    int err = errno;
    unlink(temp.c_str());
    return Failure::FromErrno(err, "cannot point " + generation.link + " at its new images")
        .At("rename", generation.link);
  }
  // Keep the chain this generation reads from; everything else is superseded.
  const std::string gens = DirName(generation.link) + "/" + gens_name;
  unsigned keep_from = generation.number;
  for (std::string parent = generation.parent; !parent.empty();) {
    keep_from = static_cast<unsigned>(strtoul(parent.c_str() + 3, nullptr, 10));
    char next[PATH_MAX];
    ssize_t n = readlink((gens + "/" + std::to_string(keep_from) + "/parent").c_str(), next, sizeof next - 1);
    parent = n > 3 ? std::string(next, n) : "";
  }
  std::vector<std::string> superseded = SetAsideGenerations(gens, [keep_from](unsigned n) { return n < keep_from; });
  generation.lock.Release();
  if (!superseded.empty())
    RunAbandoned([superseded = std::move(superseded)] {
      for (const std::string& path : superseded) RemoveTree(path);
    });
  return Failure::None();
}

void Abandon(Generation& generation) {
  if (generation.is_file) {
    unlink(generation.path.c_str());
    return;
  }
  // Keep the engine's logs (the failure message points at them) until the next checkpoint into D
  // removes them; drop the partial images. The directory goes too when no log was written.
  RemoveTree(generation.path, IsLog);
  generation.lock.Release();
}

ImageFiles ListImages(const std::string& path) {
  ImageFiles out;
  struct stat st;
  if (stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    out.files.push_back(BaseName(path));
    out.bytes = st.st_size;
    return out;
  }
  if (DIR* dir = opendir(path.c_str())) {
    while (dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == ".." || name == kMetaFile || !IsImageFile(name)) continue;
      if (lstat((path + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        out.files.push_back(name);
        out.bytes += st.st_size;
      }
    }
    closedir(dir);
  }
  return out;
}

}  // namespace crftb::cr
