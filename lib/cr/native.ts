// Typed view of the addon's checkpoint/restart functions (`binding.cr`).
import { binding } from '../native';

export interface CriuLocation {
  path: string;
  source: 'option' | 'env' | 'provisioned' | 'cache' | 'path';
}

/** `criu check` of one CRIU binary on this machine (asked once per binary per process). */
export interface CriuCheck {
  passed: boolean;
  /** The last lines CRIU printed: why it failed. */
  output: string;
}

/** What an engine can do here, as its probe found it (native/cr/engine.h Capabilities). */
export interface EngineCapabilities {
  engine: 'criu' | 'blcr';
  /** As the engine reports it (CRIU's version; for BLCR, libcr's own version from its file name). */
  version: string;
  /** The library that was loaded (libcriu.so.2 / libcr.so.0, symlinks resolved). */
  library: string;
  selfCheckpoint: boolean;
  incremental: boolean;
  /** CRIU writes a directory of images (pass `dir`); BLCR one context file (pass `file`). */
  directoryImages: boolean;
  /** The engine's library publishes CHKPT_ and RSTRT_ FTB events itself, so crftb does not. */
  publishesFtb: boolean;
}

export interface NativeProbeOptions {
  engine?: string;
  criu?: string;
  libcriu?: string;
  libcr?: string;
  packageRoot: string;
}

export interface NativeFtbOptions {
  agentHost?: string;
  agentPort?: number;
  /** How long one connect attempt may take (default 1000 ms). */
  connectTimeoutMs?: number;
  /** How long a failed connect is remembered: requests meanwhile drop their events at once (default 5000 ms; 0 tries every time). */
  retryAfterMs?: number;
}

export interface NativeCheckpointOptions {
  engine?: string;
  criu?: string;
  libcriu?: string;
  libcr?: string;
  packageRoot: string;
  scope?: string;
  target?: number;
  allowOwnGroup?: boolean;
  dir?: string;
  file?: string;
  after?: 'leaveRunning' | 'stop' | 'kill';
  timeoutMs?: number;
  /** Of timeoutMs, what JavaScript already used (waiting for critical sections and callbacks). */
  elapsedMs?: number;
  incremental?: boolean;
  connections?: string;
  skipInFlight?: boolean;
  networkLock?: string;
  ghostLimit?: number;
  extUnixSockets?: boolean;
  shellJob?: boolean;
  ftb?: boolean | NativeFtbOptions;
}

export interface NativeCheckpointResult {
  /** true in the copy restored from this checkpoint, false in the process that made it. */
  restarted: boolean;
  engine: string;
  path: string;
  generation: string;
  images: string[];
  bytes: number;
  pids: number[];
  incremental: boolean;
  seconds: number;
  /** How long the processes were frozen (CRIU's own measure); absent when the engine cannot tell. */
  frozenSeconds?: number;
  /**
   * Regular files the processes hold open other than write-only appends: files are never rolled
   * back, so if one of them changes size after this checkpoint, restoring it fails (CRIU: "has
   * bad size"). Close and reopen them around the checkpoint (onCheckpoint), or open them for
   * appending. Empty when there are none.
   */
  filesThatMustNotChange: Array<{ pid: number; fd: number; path: string }>;
}

export interface NativeRestartOptions {
  engine?: string;
  criu?: string;
  libcriu?: string;
  libcr?: string;
  packageRoot: string;
  dir?: string;
  file?: string;
  timeoutMs?: number;
  /** Of timeoutMs, what earlier attempts already used. */
  elapsedMs?: number;
  connections?: string;
  networkLock?: string;
  extUnixSockets?: boolean;
  shellJob?: boolean;
  reapWaitMs?: number;
  ftb?: boolean | NativeFtbOptions;
}

export interface NativeRestartResult {
  engine: string;
  /** The restored root process. */
  pid: number;
  /** Every restored process, root first. */
  pids: number[];
  seconds: number;
  /** When the restored root is this process's child (BLCR; CRIU with restore-sibling): its end, signal as a number. */
  exited?: Promise<{ code: number | null; signal: number | null }>;
}

/** A native request JavaScript can cancel (native/cr/interrupt.h). */
export interface NativeRequest<T> {
  promise: Promise<T>;
  cancel(): void;
}

export interface CrBinding {
  locateCriu(explicitPath: string, packageRoot: string): CriuLocation;
  criuCacheDir(): string;
  criuCheck(path: string): Promise<CriuCheck>;
  /** The engine `engine` ('auto' by default) would use here, or ENOSYS saying what to install. */
  probeEngine(options: NativeProbeOptions): Promise<EngineCapabilities>;
  checkpoint(options: NativeCheckpointOptions): NativeRequest<NativeCheckpointResult>;
  restart(options: NativeRestartOptions): NativeRequest<NativeRestartResult>;
  /** Resolves true once no interrupted request's engine is still at work (false after timeoutMs). */
  drainAbandoned(timeoutMs: number): Promise<boolean>;
  eventPayload(kind: 'end' | 'error', handle: Buffer, errno?: number): Buffer;
  publisherStats(): { published: number; dropped: number; suppressed: number; reconnects: number };
  /** Version 1 manifests' hash; `implementation` is 'sha-ni' or 'portable' (CRFTB_SHA256_PORTABLE=1). */
  sha256(data: Buffer | string): { hex: string; implementation: 'sha-ni' | 'portable' };
  /** The checkpoint manifest's checksum (version 2): XXH3-128, hex as `xxhsum -H2` prints it. */
  xxh128(data: Buffer | string): { hex: string; implementation: 'avx2' | 'portable' };
  /** The checksum a version 3 checkpoint manifest lists for a file of these bytes. */
  manifestChecksum(data: Buffer): { hex: string };
}

export const cr = binding.cr as CrBinding;
