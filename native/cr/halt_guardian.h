// What lets the targets of a stop or kill checkpoint continue when their requester dies. Such a
// request stops its targets at the end of the dump (CRIU's post-dump notification) and only sends
// SIGKILL - or leaves them stopped on purpose - once their images are committed, which takes
// seconds for large images. A requester that dies in between (SIGKILL, a crash, process.exit(),
// a SIGHUP to the CLI) would leave them stopped for good: nothing else knows they are.
//
// The guardian is a tiny /bin/sh, started through criu/spawn.h like the CRIU service's watchdog:
// not our child (nothing of ours reaps it, and it is in no process tree, group or session of
// ours), stdio on /dev/null, and of our descriptors only its end of a socket pair, as its
// descriptor 3. The request keeps the other end (close-on-exec), and so does the engine's helper
// process for the dump (CRIU's service: CheckpointSpec::hold_fd), so the guardian reads end of
// file only once both are gone: a CRIU still dumping when the requester dies lets its processes
// run when it ends, after which a SIGSTOP the requester already sent takes effect.
//
// On the socket the request says `pids PID START ...` once the dump's own list of processes is
// known, and `done` once it has sent every signal it owes them (SIGCONT, SIGKILL, or none when
// they are to stay stopped). At end of file without `done`, the guardian sends SIGCONT to each
// process it was told of whose start time (/proc/PID/stat field 22) is still the one it was given,
// so a pid reused meanwhile is left alone; it never signals anything else. A request that does
// not halt its targets starts none.
#pragma once

#include <sys/types.h>

#include <vector>

#include "common/failure.h"
#include "common/unique_fd.h"

namespace crftb::cr {

class HaltGuardian {
 public:
  // Starts the guardian of `pids` (their start times are read now; one already gone is left out).
  // Fails, before anything is stopped, with the errno of the start (EAGAIN, ENOMEM, EMFILE...).
  static Failure Start(const std::vector<pid_t>& pids, HaltGuardian* out);

  HaltGuardian() = default;
  HaltGuardian(HaltGuardian&&) = default;
  HaltGuardian& operator=(HaltGuardian&&) = default;

  // The request's end of the socket (close-on-exec), for a helper process of the engine to hold
  // while it works; -1 when there is no guardian.
  int hold_fd() const { return fd_.get(); }
  // The processes to let continue from now on, in place of those it was started with.
  void Watch(const std::vector<pid_t>& pids);
  // Every signal the request owes its processes has been sent: the guardian exits, signalling
  // nothing. Without it, dropping the guardian means it lets them continue once the engine's
  // helper is gone too.
  void Dismiss();

 private:
  void Say(const std::string& line);
  UniqueFd fd_;
};

}  // namespace crftb::cr
