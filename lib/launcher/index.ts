export { JobCoordinator } from './job';
export type { JobCoordinatorOptions, JobOperationOptions, JobResult, NodeResult } from './job';
export { LauncherNode, nodeDirectory, pendingDirectory, treeDirectory } from './node';
export type { LauncherNodeOptions, NodePhase, NodeOperationRecord, TreeOptions, TreeRecord } from './node';
export { checkCheckpointName, LAUNCHER_EVENT_SPACE } from './protocol';
