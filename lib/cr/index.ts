export { checkpoint, restart, restartDetailed, publisherStats } from './checkpoint';
export type {
  PublisherStats,
  ConnectionPolicy,
  NetworkLock,
  EngineTuningOptions,
  CheckpointOptions,
  CheckpointResult,
  RestartOptions,
  RestartResult,
  RestoredExit,
  Scope,
  EngineName,
  FtbOption,
} from './checkpoint';
export { onCheckpoint, criticalSection } from './critical';
export type { RetryOptions } from './retry';
export { probeEngine } from './probe';
export type { ProbeOptions, ProbeResult } from './probe';
export type { CheckpointCallback, CheckpointContext, CheckpointOutcome } from './critical';
export { locateCriu, criuCacheDir } from '../criu/locate';
export type { CriuLocation, CriuCheck, EngineCapabilities } from './native';
