#include "cr/scope.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <sstream>
#include <string>

#include "common/read_file.h"

namespace crftb::cr {

namespace {

struct ProcInfo {
  pid_t ppid = 0, pgrp = 0, session = 0;
  std::string start_time;  // field 22: clock ticks since boot when the process started
};

// A live process's /proc/<pid>/stat; false when it is gone or has exited (a zombie).
bool ReadStat(pid_t pid, ProcInfo* out) {
  std::string text, line;
  ReadWholeFile("/proc/" + std::to_string(pid) + "/stat", &text);
  std::istringstream file(text);
  if (!std::getline(file, line)) return false;
  size_t close = line.rfind(')');  // the command name may contain spaces and parentheses
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  char state;
  rest >> state >> out->ppid >> out->pgrp >> out->session;
  if (rest.fail() || state == 'Z' || state == 'X') return false;
  std::string field;
  for (int k = 7; k <= 22 && rest >> field; ++k)
    if (k == 22) out->start_time = field;
  return true;
}

std::map<pid_t, ProcInfo> AllProcesses() {
  std::map<pid_t, ProcInfo> all;
  DIR* proc = opendir("/proc");
  if (!proc) return all;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    ProcInfo info;
    if (ReadStat(static_cast<pid_t>(pid), &info)) all[static_cast<pid_t>(pid)] = info;
  }
  closedir(proc);
  return all;
}

std::vector<pid_t> TreeOf(pid_t root, const std::map<pid_t, ProcInfo>& all) {
  std::multimap<pid_t, pid_t> children;
  for (const auto& [pid, info] : all) children.emplace(info.ppid, pid);
  std::vector<pid_t> tree{root};
  for (size_t i = 0; i < tree.size(); ++i) {
    auto [first, last] = children.equal_range(tree[i]);
    for (auto it = first; it != last; ++it) tree.push_back(it->second);
  }
  return tree;
}

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kProcess:
      return "process";
    case Scope::kProcessGroup:
      return "pgid";
    case Scope::kSession:
      return "session";
    case Scope::kTree:
      return "tree";
  }
  return "?";
}

}  // namespace

std::vector<pid_t> ProcessTree(pid_t root) { return TreeOf(root, AllProcesses()); }

bool ProcessRunning(pid_t pid) {
  ProcInfo info;
  return ReadStat(pid, &info);
}

std::string ProcessStartTime(pid_t pid) {
  ProcInfo info;
  return ReadStat(pid, &info) ? info.start_time : "";
}

Failure ResolveScope(Scope scope, pid_t target, bool allow_own_group, ResolvedScope* out) {
  const pid_t self = getpid();
  if (target < 0) return Failure::System(EINVAL, "target must be a positive pid (or omitted for this process)");
  if (target == 0) {
    switch (scope) {
      case Scope::kProcess:
      case Scope::kTree:
        target = self;
        break;
      case Scope::kProcessGroup:
        target = getpgrp();
        break;
      case Scope::kSession:
        target = getsid(0);
        break;
    }
  }
  // The caller's own group or session is refused before anything else is looked at, so the
  // answer does not depend on who else happens to be in it (or whether its leader still lives).
  if (!allow_own_group &&
      ((scope == Scope::kProcessGroup && target == getpgrp()) || (scope == Scope::kSession && target == getsid(0))))
    return Failure::System(EDEADLK, std::string("the ") + ScopeName(scope) + " scope of " + std::to_string(target) +
                                        " is this process's own " +
                                        (scope == Scope::kSession ? "session" : "process group") +
                                        "; pass allowOwnGroup: true if that is really meant");
  auto all = AllProcesses();
  ProcInfo root_info;
  if (!all.count(target) || !ReadStat(target, &root_info))
    return Failure::System(ESRCH, std::string("no process ") + std::to_string(target) + " to checkpoint (" +
                                      ScopeName(scope) + " scope): it does not exist or has exited");
  out->root = target;
  // CRIU dumps the tree below its root pid; a group or session is dumped through its leader, so
  // every member has to be in that tree.
  out->pids = TreeOf(target, all);
  if (scope == Scope::kProcessGroup || scope == Scope::kSession) {
    const bool group = scope == Scope::kProcessGroup;
    if ((group ? root_info.pgrp : root_info.session) != target)
      return Failure::System(ESRCH, std::string("no ") + (group ? "process group " : "session ") +
                                        std::to_string(target) + " led by that pid");
    for (const auto& [pid, info] : all) {
      if ((group ? info.pgrp : info.session) != target) continue;
      if (std::find(out->pids.begin(), out->pids.end(), pid) == out->pids.end())
        return Failure::System(EINVAL, std::string("process ") + std::to_string(pid) + " is in " +
                                           (group ? "process group " : "session ") + std::to_string(target) +
                                           " but not below its leader; CRIU checkpoints process trees");
    }
  }
  out->includes_self = std::find(out->pids.begin(), out->pids.end(), self) != out->pids.end();
  if (allow_own_group || scope == Scope::kProcess) return Failure::None();
  // A group, session or tree scope must not reach the caller's group or session (that would dump
  // - and with kill, end - the shell or the test runner that started us), nor our ancestors.
  const pid_t my_pgrp = getpgrp(), my_session = getsid(0);
  for (pid_t pid : out->pids) {
    const ProcInfo& info = all[pid];
    bool own = info.pgrp == my_pgrp || info.session == my_session;
    if (own && !(scope == Scope::kTree && pid == self && out->root == self))
      return Failure::System(EDEADLK, std::string("the ") + ScopeName(scope) + " scope of " + std::to_string(target) +
                                          " includes process " + std::to_string(pid) +
                                          " of this process's own group or session; pass allowOwnGroup: true "
                                          "if that is really meant");
  }
  return Failure::None();
}

}  // namespace crftb::cr
