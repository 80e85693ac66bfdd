// checkpoint() and restart(): BLCR's libcr request API over the addon's engines (CRIU, BLCR).
import os from 'node:os';
import { codedError } from '../errors';
import { packageRoot } from '../native';
import { runSelfCheckpoint } from './critical';
import { cr, NativeCheckpointResult, NativeFtbOptions, NativeRestartResult } from './native';

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

export interface CheckpointOptions {
  /** pid (process, tree), pgid or session id; omitted = this process (its group / session). */
  target?: number;
  scope?: Scope;
  /** Images directory (CRIU). Created 0700; replaced only when the checkpoint succeeds. */
  dir?: string;
  /** Context file (BLCR). */
  file?: string;
  /** Afterwards: keep running (default), stop (SIGSTOP) or kill the checkpointed processes. */
  leaveRunning?: boolean;
  stop?: boolean;
  kill?: boolean;
  /** Deadline for the whole request; the engine cannot cancel, so a late one is abandoned. */
  timeoutMs?: number;
  /** Rejects with ABORT_ERR if aborted before the checkpoint starts (or while it runs). */
  signal?: AbortSignal;
  /** CRIU: write only pages changed since this directory's previous checkpoint of the same process. */
  incremental?: boolean;
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

export interface RestartOptions {
  dir?: string;
  file?: string;
  engine?: EngineName;
  ftb?: FtbOption;
  timeoutMs?: number;
  criu?: string;
  libcriu?: string;
  libcr?: string;
}

export interface RestartResult extends Omit<NativeRestartResult, 'exited'> {
  /**
   * When the restored root is a child of this process (the BLCR engine: libcr forks the restored
   * processes from the requester), crftb waits for it so it never lingers as a zombie, and this
   * settles when it ends. Undefined when it is not this process's child (CRIU restores detached).
   * Waiting never keeps the event loop alive, and the promise never rejects (code and signal are
   * both null if the end could not be observed, e.g. a waitpid(-1) elsewhere took it).
   */
  exited?: Promise<RestoredExit>;
}

export interface RestoredExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

const signalNames = new Map(Object.entries(os.constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

function afterOf(options: CheckpointOptions): 'leaveRunning' | 'stop' | 'kill' {
  const chosen = [options.leaveRunning && 'leaveRunning', options.stop && 'stop', options.kill && 'kill'].filter(Boolean);
  if (chosen.length > 1) throw codedError('EINVAL', 'choose one of leaveRunning, stop and kill', 22);
  return (chosen[0] as 'leaveRunning' | 'stop' | 'kill' | undefined) ?? 'leaveRunning';
}

function abortError(signal: AbortSignal): Error {
  const error = codedError('ABORT_ERR', 'the checkpoint was aborted', undefined);
  error.name = 'AbortError';
  (error as Error & { cause?: unknown }).cause = signal.reason;
  return error;
}

// Rejects as soon as `signal` aborts; the native request itself cannot be cancelled and finishes
// (or times out) in the background.
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function includesSelf(options: CheckpointOptions): boolean {
  return options.target === undefined || options.target === 0 || options.target === process.pid;
}

/** Checkpoints this process (default) or another pid / process group / session / tree. */
export async function checkpoint(options: CheckpointOptions): Promise<CheckpointResult> {
  if (typeof options !== 'object' || options === null) throw codedError('EINVAL', 'checkpoint() needs an options object', 22);
  if (options.signal?.aborted) throw abortError(options.signal);
  const request = () =>
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
      after: afterOf(options),
      timeoutMs: options.timeoutMs,
      incremental: options.incremental,
      ftb: options.ftb,
    });
  const run: () => Promise<NativeCheckpointResult> = includesSelf(options) ? () => runSelfCheckpoint(request) : request;
  return abortable(run(), options.signal);
}

/** Restarts from a checkpoint; resolves to the restored pid. */
export async function restart(options: RestartOptions): Promise<number> {
  return (await restartDetailed(options)).pid;
}

/** restart() with every restored pid and the engine's timing. */
export async function restartDetailed(options: RestartOptions): Promise<RestartResult> {
  if (typeof options !== 'object' || options === null) throw codedError('EINVAL', 'restart() needs an options object', 22);
  const result: NativeRestartResult = await cr.restart({
    engine: options.engine,
    criu: options.criu,
    libcriu: options.libcriu,
    libcr: options.libcr,
    packageRoot,
    dir: options.dir,
    file: options.file,
    timeoutMs: options.timeoutMs,
    ftb: options.ftb,
  });
  const { exited, ...rest } = result;
  if (!exited) return rest;
  return {
    ...rest,
    exited: exited.then(({ code, signal }) => ({ code, signal: signal === null ? null : signalNames.get(signal) ?? null })),
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
