export { JobCoordinator } from './job';
export type { JobCoordinatorOptions, JobOperationOptions, JobResult, NodeResult } from './job';
export { LauncherNode, rankDirectory } from './node';
export type { LauncherNodeOptions, NodeOperationRecord, RankRecord } from './node';
export { LAUNCHER_EVENT_SPACE } from './protocol';
