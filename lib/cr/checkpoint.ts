// checkpoint() and restart(): BLCR's libcr request API over the addon's engines (CRIU, BLCR).
import os from 'node:os';
import { codedError } from '../errors';
import { packageRoot } from '../native';
import { runSelfCheckpoint } from './critical';
import { asAbortError, checkSignal, Interrupt } from '../abort';
import { type RetryOptions, retryPlan, withRetries } from './retry';
import {
  cr,
  type NativeCheckpointResult,
  type NativeFtbOptions,
  type NativeRequest,
  type NativeRestartResult,
} from './native';

export type Scope = 'process' | 'pgid' | 'session' | 'tree';
export type EngineName = 'auto' | 'criu' | 'blcr';

/**
 * BLCR's FTB events (CHKPT_/RSTRT_ BEGIN, END, ERROR in FTB.checkpoint_sw.blcr), published from
 * the request's worker thread. false turns them off; true (default) finds the agent as FTB does
 * (FTB_AGENT_PORT, FTB_CONFIG_FILE, bootstrap server); an object names it. The process keeps one
 * FTB connection, shared with its own FtbClients (when one connected first, events travel on it);
 * it is closed for a checkpoint of this process and reopened after. FTB being absent never fails
 * or delays a request beyond connectTimeoutMs (default 1000; a failed connect is not retried for
 * retryAfterMs, default 5000): undeliverable events are counted in publisherStats().dropped.
 */
export type FtbOption = boolean | NativeFtbOptions;

/**
 * What happens to established TCP connections (CRIU): `close` (default) dumps them as closed and
 * restores them closed, so peers see a reset and reconnect — what a Node service with keep-alive
 * clients, HTTP agents and database pools needs, since it reconnects anyway after a restore on
 * another host or much later; `keep` dumps and restores them established (CRIU's tcp-established,
 * with a network lock so no packet is lost meanwhile), for peers that cannot reconnect, such as
 * the ranks of an MPI job over TCP — the restore must then happen where the addresses are;
 * `fail` makes a checkpoint of a process holding one fail (CRIU's own default).
 */
export type ConnectionPolicy = 'close' | 'keep' | 'fail';
/** CRIU's network lock for `connections: 'keep'`; `auto` (default): iptables when installed, else nftables. */
export type NetworkLock = 'auto' | 'iptables' | 'nftables';

/** CRIU options of a checkpoint (BLCR has none of them and ignores them). */
export interface EngineTuningOptions {
  connections?: ConnectionPolicy;
  networkLock?: NetworkLock;
  /** Unix sockets connected to processes outside the checkpoint (CRIU's ext-unix-sk). */
  extUnixSockets?: boolean;
  /** The processes belong to a terminal session, not a session of their own (CRIU's shell-job). */
  shellJob?: boolean;
}

export interface CheckpointOptions extends EngineTuningOptions {
  /** pid (process, tree), pgid or session id; omitted = this process (its group / session). */
  target?: number;
  scope?: Scope;
  /** Images directory (CRIU). Created 0700; replaced only when the checkpoint succeeds. */
  dir?: string;
  /** Context file (BLCR). */
  file?: string;
  /**
   * Afterwards: keep running (default), stop (SIGSTOP) or kill (SIGKILL) the checkpointed
   * processes. crftb stops or kills them only once their images are committed, and never when
   * the request was interrupted: the engine dumps them leave-running, they are stopped before
   * they run again (CRIU's post-dump notification), committed, then killed or left stopped.
   * With kill, the call resolves once the killed processes are gone (up to 2 s).
   */
  leaveRunning?: boolean;
  stop?: boolean;
  kill?: boolean;
  /**
   * Deadline for the whole request, from the call: waiting for critical sections and
   * onCheckpoint callbacks, the dump, and the commit. At the deadline the call rejects
   * ETIMEDOUT and the processes are left running; a dump still in progress cannot be stopped, so
   * it finishes in the background and its images are removed. If the images were already
   * complete, they are committed and the error has `committed: true` and `path`.
   */
  timeoutMs?: number;
  /** Aborting rejects with an AbortError (code ABORT_ERR), with the same guarantee as timeoutMs. */
  signal?: AbortSignal;
  /**
   * Retry a checkpoint refused for a reason that passes by itself (code EAGAIN: a connection
   * being accepted, a process of the tree exiting, another checkpoint writing into `dir`), within
   * timeoutMs and signal. Off when absent; `{}` retries 3 times after 100, 200, 300 ms. A failed
   * attempt leaves nothing behind (no generation, no stopped process), and callbacks and critical
   * sections are waited for once, not per attempt.
   */
  retry?: RetryOptions;
  /** CRIU: write only pages changed since this directory's previous checkpoint of the same process. */
  incremental?: boolean;
  /** Leave out TCP connections not yet accepted (default true; their peers retry or see a reset). */
  skipInFlight?: boolean;
  /** Bytes of deleted-but-open files CRIU may copy into the images (CRIU's ghost-limit; default CRIU's 1 MiB). */
  ghostLimit?: number;
  engine?: EngineName;
  ftb?: FtbOption;
  /** Allow a pgid/session/tree scope that reaches this process's own group or session. */
  allowOwnGroup?: boolean;
  /** The CRIU binary (otherwise CRFTB_CRIU, the provisioned one, then PATH). */
  criu?: string;
  /** Library overrides (tests use a labelled libcr.so.0 double). */
  libcriu?: string;
  libcr?: string;
}

/** What the addon resolves with (lib/cr/native.ts documents the fields). */
export type CheckpointResult = NativeCheckpointResult;

/** A restart restores connections, sockets and sessions as its checkpoint recorded; these override that. */
export interface RestartOptions extends EngineTuningOptions {
  dir?: string;
  file?: string;
  engine?: EngineName;
  ftb?: FtbOption;
  /**
   * Deadline for the restart. At the deadline (or when `signal` aborts) the call rejects; a
   * restore still in progress cannot be stopped, so whatever it restores is killed when it ends:
   * a rejected restart leaves nothing restored, and the images are untouched.
   */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * How long to wait (default 5000 ms) for the checkpointed pids to be free when the processes
   * that held them are dead but not yet reaped — right after `checkpoint({ kill: true })` of a
   * tree whose root is gone, its orphans wait for init. Past it the restart fails EAGAIN (the
   * zombie passes by itself: see `retry`); a pid held by a running process fails EBUSY at once.
   */
  reapWaitMs?: number;
  /**
   * Retry a restart refused for a reason that passes by itself (code EAGAIN: a pid it needs is
   * held by a zombie not yet reaped), within timeoutMs and signal; as for checkpoint(). A failed
   * attempt restored nothing.
   */
  retry?: RetryOptions;
  criu?: string;
  libcriu?: string;
  libcr?: string;
}

export interface RestartResult extends Omit<NativeRestartResult, 'exited'> {
  /**
   * The restored root is a child of this process with both engines — BLCR's libcr forks the
   * restored processes from the requester; with CRIU crftb asks for the root to be restored as
   * the caller's child (CRIU's restore-sibling) — so crftb waits for it (it would otherwise
   * linger as a zombie: libuv reaps only children it spawned), and this settles with its exit
   * status when it ends. Only its own status: its descendants are its business. Waiting never
   * keeps the event loop alive, and the promise never rejects (code and signal are both null if
   * the end could not be observed, e.g. a waitpid(-1) elsewhere took it).
   */
  exited?: Promise<RestoredExit>;
}

export interface RestoredExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

const signalNames = new Map(
  Object.entries(os.constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);

function afterOf(options: CheckpointOptions): 'leaveRunning' | 'stop' | 'kill' {
  const chosen = [options.leaveRunning && 'leaveRunning', options.stop && 'stop', options.kill && 'kill'].filter(
    Boolean,
  );
  if (chosen.length > 1) throw codedError('EINVAL', 'choose one of leaveRunning, stop and kill');
  return (chosen[0] as 'leaveRunning' | 'stop' | 'kill' | undefined) ?? 'leaveRunning';
}

// Runs a cancellable native request: an abort cancels it, and the call settles when the native
// side has decided what the request leaves (never earlier, so nothing is decided behind the
// caller's back).
async function settle<T>(request: NativeRequest<T>, interrupt: Interrupt): Promise<T> {
  const stop = interrupt.onAbort(() => request.cancel());
  try {
    return await request.promise;
  } catch (error) {
    throw asAbortError(error, interrupt.signal);
  } finally {
    stop();
  }
}

function includesSelf(options: CheckpointOptions): boolean {
  return options.target === undefined || options.target === 0 || options.target === process.pid;
}

/** Checkpoints this process (default) or another pid / process group / session / tree. */
export async function checkpoint(options: CheckpointOptions): Promise<CheckpointResult> {
  if (typeof options !== 'object' || options === null)
    throw codedError('EINVAL', 'checkpoint() needs an options object');
  const interrupt = new Interrupt(options.timeoutMs, checkSignal(options.signal), 'checkpoint');
  interrupt.check();
  const after = afterOf(options);
  const plan = retryPlan(options.retry);
  const attempt = () => {
    interrupt.check();
    return settle(
      cr.checkpoint({
        engine: options.engine,
        criu: options.criu,
        libcriu: options.libcriu,
        libcr: options.libcr,
        packageRoot,
        scope: options.scope,
        target: options.target,
        allowOwnGroup: options.allowOwnGroup,
        dir: options.dir,
        file: options.file,
        after,
        timeoutMs: options.timeoutMs,
        elapsedMs: interrupt.elapsedMs(),
        incremental: options.incremental,
        connections: options.connections,
        skipInFlight: options.skipInFlight,
        networkLock: options.networkLock,
        ghostLimit: options.ghostLimit,
        extUnixSockets: options.extUnixSockets,
        shellJob: options.shellJob,
        ftb: options.ftb,
      }),
      interrupt,
    );
  };
  const request = () => withRetries(plan, interrupt, attempt);
  return includesSelf(options) ? runSelfCheckpoint(request, interrupt) : request();
}

/** Restarts from a checkpoint; resolves to the restored pid. */
export async function restart(options: RestartOptions): Promise<number> {
  return (await restartDetailed(options)).pid;
}

/** restart() with every restored pid and the engine's timing. */
export async function restartDetailed(options: RestartOptions): Promise<RestartResult> {
  if (typeof options !== 'object' || options === null) throw codedError('EINVAL', 'restart() needs an options object');
  const interrupt = new Interrupt(options.timeoutMs, checkSignal(options.signal), 'restart');
  interrupt.check();
  const plan = retryPlan(options.retry);
  const result: NativeRestartResult = await withRetries(plan, interrupt, () =>
    settle(
      cr.restart({
        engine: options.engine,
        criu: options.criu,
        libcriu: options.libcriu,
        libcr: options.libcr,
        packageRoot,
        dir: options.dir,
        file: options.file,
        timeoutMs: options.timeoutMs,
        elapsedMs: interrupt.elapsedMs(),
        connections: options.connections,
        networkLock: options.networkLock,
        extUnixSockets: options.extUnixSockets,
        shellJob: options.shellJob,
        reapWaitMs: options.reapWaitMs,
        ftb: options.ftb,
      }),
      interrupt,
    ),
  );
  const { exited, ...rest } = result;
  if (!exited) return rest;
  return {
    ...rest,
    exited: exited.then(({ code, signal }) => ({
      code,
      signal: signal === null ? null : (signalNames.get(signal) ?? null),
    })),
  };
}

export type PublisherStats = ReturnType<typeof cr.publisherStats>;

/**
 * Counters of this process's CHKPT_/RSTRT_ event publisher: events published, dropped (FTB absent,
 * down or refusing; an END/ERROR whose BEGIN could not leave is withheld, so that no subscriber
 * sees an END without its BEGIN, and counted here too), suppressed (the engine's libcr publishes them itself) and reconnects after a
 * checkpoint of this process.
 */
export function publisherStats(): PublisherStats {
  return cr.publisherStats();
}
