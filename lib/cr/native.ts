// Typed view of the addon's checkpoint/restart functions (`binding.cr`).
import { binding } from '../native';

export interface CriuLocation {
  path: string;
  source: 'option' | 'env' | 'provisioned' | 'path';
}

/** BLCR engine (native/cr/blcr). `libraryPath` defaults to `libcr.so.0` on the library search path. */
export interface BlcrProbe {
  engine: 'blcr';
  /** The libcr file that was loaded (symlinks resolved). */
  library: string;
  /** libcr was built with FTB support and publishes CHKPT_/RSTRT_ events itself. */
  publishesFtb: boolean;
  clientId: number;
}

export interface BlcrCheckpointOptions {
  libraryPath?: string;
  scope?: 'process' | 'pgid' | 'session' | 'tree';
  target: number;
  /** Context file; written as a temp file beside it and renamed on success. */
  path: string;
  /** Signal for the targets after the checkpoint; negative = sent right after the dump. */
  signal?: number;
  ptraced?: 'error' | 'allow' | 'skip';
  ptracer?: 'error' | 'skip';
  saveExecutable?: boolean;
  savePrivateMappings?: boolean;
  saveSharedMappings?: boolean;
  /** Permit a scope containing this process, its group or session. */
  allowSelf?: boolean;
  /** Deadline enforced by the engine (default 60000; 0 = none). */
  timeoutMs?: number;
}

export interface BlcrRestartOptions {
  libraryPath?: string;
  path: string;
  signal?: number;
  restorePid?: boolean;
  restorePgid?: boolean;
  restoreSid?: boolean;
  /** Up to 16 [oldPrefix, newPrefix] absolute path pairs. */
  relocate?: Array<[string, string]>;
  timeoutMs?: number;
}

export interface NativeFtbOptions {
  agentHost?: string;
  agentPort?: number;
  connectTimeoutMs?: number;
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
  incremental?: boolean;
  ftb?: boolean | NativeFtbOptions;
}

export interface NativeCheckpointResult {
  restarted: boolean;
  engine: string;
  path: string;
  generation: string;
  images: string[];
  bytes: number;
  pids: number[];
  incremental: boolean;
  seconds: number;
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
  ftb?: boolean | NativeFtbOptions;
}

export interface NativeRestartResult {
  engine: string;
  pid: number;
  pids: number[];
  seconds: number;
}

export interface CrBinding {
  locateCriu(explicitPath: string, packageRoot: string): CriuLocation;
  blcrProbe(options?: { libraryPath?: string }): Promise<BlcrProbe>;
  blcrCheckpoint(options: BlcrCheckpointOptions): Promise<{ path: string; kernelLog: string; restartedCopy: boolean }>;
  /** `pid` is the first restored child of this process (0 when none); the caller must wait for it. */
  blcrRestart(options: BlcrRestartOptions): Promise<{ pid: number; kernelLog: string }>;
  checkpoint(options: NativeCheckpointOptions): Promise<NativeCheckpointResult>;
  restart(options: NativeRestartOptions): Promise<NativeRestartResult>;
  eventPayload(kind: 'end' | 'error', handle: Buffer, errno?: number): Buffer;
  publisherStats(): { published: number; dropped: number; suppressed: number; reconnects: number };
}

export const cr = binding.cr as CrBinding;
