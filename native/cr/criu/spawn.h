// Starting CRIU (its services, `criu check`) and the service's watchdog without fork(). A fork copies the page tables
// of the whole Node process (a self-checkpointing service of 1 GiB: tens of ms per fork, four forks on a process's
// first self-checkpoint), and the copy is thrown away by the exec that follows; posix_spawn
// shares the address space until the exec instead. A process that must not be our child (a
// self-dump's service: CRIU dumps the caller's whole subtree) is started through a /bin/sh that
// runs it in the background and exits, so the only fork of the double fork is the small shell's.
//
// Threading: any thread; nothing here touches the parent's signal handlers or descriptors.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/failure.h"

namespace crftb::cr::criu {

// The descriptor numbers a program started with SpawnOptions::pass_fd / keep_fd finds them under.
constexpr int kPassedFd = 3;
constexpr int kKeptFd = 4;

struct SpawnOptions {
  // A close-on-exec descriptor of ours the program gets as kPassedFd (inheritable there), or -1.
  int pass_fd = -1;
  // A close-on-exec descriptor of ours the program holds as kKeptFd without using it, or -1: its
  // peer learns that the program has ended (with us) when it reads end of file.
  int keep_fd = -1;
  // An orphan in a session of its own, working directory /, stdin /dev/null: not our child.
  bool detach = false;
  // stdout and stderr on /dev/null (stdin too).
  bool null_stdio = false;
  // stdout and stderr onto this descriptor of ours (stdin on /dev/null), or -1.
  int output_fd = -1;
  // Leaves behind descriptors this process inherited without close-on-exec (ours all have it).
  bool close_inherited = false;
};

// Starts argv[0] (an absolute path) with `envp` and an empty signal mask (CRIU needs SIGCHLD; the
// calling worker thread may block it). *child: our child to reap, or 0 when detached (the shell
// in between has been reaped already).
Failure Spawn(const std::vector<std::string>& argv, char* const envp[], const SpawnOptions& options, pid_t* child);

}  // namespace crftb::cr::criu
