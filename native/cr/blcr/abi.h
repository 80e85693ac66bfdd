// The binary interface of BLCR's libcr.so.0 (0.8.x line), as the loader sees it: types, struct
// layouts, constants and function signatures, written from the project's BLCR fact sheet
// (LIBCR-FACTS.md §2–§4, kept outside this repository). libcr is only ever reached through
// dlopen, so nothing here comes from libcr.h; the static_asserts pin every offset to the fact
// sheet (LP64/x86-64) so a mistake cannot compile.
#pragma once

#include <sys/types.h>

#include <cstddef>

namespace crftb::cr::blcr {

// Request handles are opaque `unsigned long`s; in every 0.8.x release they hold the ctrl fd,
// which becomes readable when the request completes (§6.1). The engine relies on that to wait
// with poll(2) instead of libcr's select()-based waits, which break for fds >= FD_SETSIZE.
using Handle = unsigned long;

constexpr int kArgsVersion = 1;  // CR_CHECKPOINT_ARGS_VERSION == CR_RESTART_ARGS_VERSION

// cr_scope_t: CR_SCOPE_PROC, _PGRP, _SESS, _TREE.
constexpr int kScopeProc = 0, kScopePgrp = 1, kScopeSess = 2, kScopeTree = 3;

// cr_checkpoint_args_t
struct CheckpointArgs {
  int version;
  int scope;         // cr_scope_t; the initializer leaves -1 (invalid) so the caller must choose
  pid_t target;      // 0 means "self" for every scope: the engine never passes 0
  int fd;            // destination
  int signal;        // sent after the checkpoint; negative = "early" signal; 0 = none
  unsigned timeout;  // seconds, recorded by the kernel but never enforced (§6.5)
  unsigned flags;    // CR_CHKPT_*: the engine only ever sets kChkptProhibitSelf
};
static_assert(sizeof(CheckpointArgs) == 28 && alignof(CheckpointArgs) == 4);
static_assert(offsetof(CheckpointArgs, version) == 0 && offsetof(CheckpointArgs, scope) == 4);
static_assert(offsetof(CheckpointArgs, target) == 8 && offsetof(CheckpointArgs, fd) == 12);
static_assert(offsetof(CheckpointArgs, signal) == 16 && offsetof(CheckpointArgs, timeout) == 20);
static_assert(offsetof(CheckpointArgs, flags) == 24);

// cr_restart_args_t
struct RestartArgs {
  int version;
  int fd;                // source; must not be a directory
  int signal;            // for the restored processes
  unsigned flags;        // CR_RSTRT_*; the initializer sets CR_RSTRT_RESTORE_PID, which the engine keeps
  const void* relocate;  // struct cr_rstrt_relocate*; the engine relocates nothing (NULL)
};
static_assert(sizeof(RestartArgs) == 24 && alignof(RestartArgs) == 8);
static_assert(offsetof(RestartArgs, version) == 0 && offsetof(RestartArgs, fd) == 4);
static_assert(offsetof(RestartArgs, signal) == 8 && offsetof(RestartArgs, flags) == 12);
static_assert(offsetof(RestartArgs, relocate) == 16);

constexpr unsigned kChkptProhibitSelf = 0x01;  // CR_CHKPT_PROHIBIT_SELF

// BLCR's own error codes (blcr_errcodes.h): an enum starting above every errno value.
enum ErrorCode : int {
  kETempFail = 2354,
  kEPermFail = 2355,
  kENoSupport = 2356,
  kEVersion = 2357,
  kEOmitted = 2358,
  kEBadArch = 2359,
  kEPtraced = 2360,
  kEPtracer = 2361,
  kERstrtAbrt = 2362,
  kERestarted = 2363,
  kENotCb = 2364,
  kENoInit = 2365,
};

// The functions the engine resolves with dlsym. The cr_initialize_*_args_t "functions" are
// macros in libcr.h, so through dlopen the real cri_init_* entry points must be called (§1.2).
extern "C" {
using InitFn = int (*)();                                       // cr_init
using InitCheckpointArgsFn = int (*)(int, CheckpointArgs*);     // cri_init_checkpoint_args_t
using InitRestartArgsFn = int (*)(int, RestartArgs*);           // cri_init_restart_args_t
using RequestCheckpointFn = int (*)(CheckpointArgs*, Handle*);  // cr_request_checkpoint
using RequestRestartFn = int (*)(RestartArgs*, Handle*);        // cr_request_restart
using LogFn = int (*)(Handle*, unsigned, char*);                // cr_log_checkpoint / _restart
using ReapFn = int (*)(Handle*);                                // cr_reap_checkpoint / _restart
}

}  // namespace crftb::cr::blcr
