export { checkpoint, restart, restartDetailed } from './checkpoint';
export type { CheckpointOptions, CheckpointResult, RestartOptions, RestartResult, Scope, EngineName, FtbOption } from './checkpoint';
export { onCheckpoint, criticalSection } from './critical';
export type { CheckpointCallback, CheckpointContext, CheckpointOutcome } from './critical';
export { locateCriu } from '../criu/locate';
export type { CriuLocation } from './native';
