export { JobCoordinator } from './job';
export type { JobCoordinatorOptions, JobOperationOptions, JobResult, NodeResult } from './job';
export { LauncherNode, nodeDirectory, pendingDirectory, rankDirectory, treeDirectory } from './node';
export type { LauncherNodeOptions, NodePhase, NodeOperationRecord, RankRecord, TreeOptions, TreeRecord } from './node';
export { checkCheckpointName, LAUNCHER_EVENT_SPACE } from './protocol';
