// The per-node half of a launcher plugin: one per node of a job (beside the launcher's own node
// daemon, e.g. an MPI proxy), holding the node's ranks or process trees. A real MPI job is
// checkpointed as trees: a rank alone cannot be (its sockets to the process manager are half of
// a connection, its shared-memory segments are shared with the other ranks), the launcher with
// everything under it can (README "Checkpointing MPI jobs"). On a job-wide request it checkpoints or
// restarts its local ranks through crftb's libcr API — which publishes the BLCR CHKPT_*/RSTRT_*
// events of each rank itself — and answers the coordinator with one NODE_* event. Where images
// go is this node's own configuration (imageRoot); a request only names the checkpoint.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { checkpoint, restartDetailed, type CheckpointOptions, type EngineTuningOptions, type RestartOptions } from '../cr';
import { FtbClient, type FtbReceivedEvent, type FtbSubscription } from '../ftb/client';
import type { FtbConnectOptions } from '../ftb/types';
import { codedError, type CrftbError } from '../errors';
import {
  CANCEL_EVENT,
  checkCheckpointName,
  decodeNodeAnswer,
  decodeRequest,
  encodeNodeAnswer,
  LAUNCHER_EVENT_SPACE,
  NODE_EVENTS,
  NODE_RESULT_EVENT,
  type JobRequest,
  type Operation,
  REQUEST_EVENT,
} from './protocol';

export interface LauncherNodeOptions {
  /** Job id (FTB jobid, ≤ 15 characters); the coordinator uses the same. */
  job: string;
  /** This node's name (FTB client name, ≤ 15 characters), as the coordinator lists it. */
  node: string;
  /**
   * This node's image root. Checkpoint `name` of rank R goes to
   * `<imageRoot>/<job>/<name>/<node>/rank-<R>` (see rankDirectory); requests never carry a path.
   */
  imageRoot: string;
  /** Where the node's FTB agent is (default: FTB's own resolution). */
  ftb?: FtbConnectOptions;
  /** Extra checkpoint options for every rank (engine, criu binary, timeoutMs, ...). */
  checkpoint?: Omit<CheckpointOptions, 'target' | 'dir' | 'file' | 'scope'>;
  restart?: Omit<RestartOptions, 'dir' | 'file'>;
}

export interface RankRecord {
  rank: number;
  pid: number;
}

/**
 * CRIU options of one tree, on top of the node's `checkpoint` / `restart` options: what its MPI
 * needs (README "Checkpointing MPI jobs"). The connection policy, network lock, external unix
 * sockets and shell-job are recorded with the images and restored the same way.
 */
export interface TreeOptions extends EngineTuningOptions {
  /** Bytes of deleted-but-open files (UCX's unlinked /dev/shm segments) copied into the images. */
  ghostLimit?: number;
}

export interface TreeRecord {
  /** The tree's name (a plain path component): its images are `<node dir>/tree-<name>`. */
  name: string;
  /** Its root: the launcher (mpiexec, mpirun) or a node's proxy/daemon, with every descendant. */
  pid: number;
}

export interface NodeOperationRecord {
  op: Operation;
  /** The checkpoint's name, as requested. */
  name: string;
  /** Its directory on this node: `<imageRoot>/<job>/<name>/<node>`. */
  dir: string;
  ok: boolean;
  errno: number;
  ranks: RankRecord[];
  trees: TreeRecord[];
  error?: CrftbError;
}

/** Where a node keeps one checkpoint of a job: `<imageRoot>/<job>/<name>/<node>`. */
export function nodeDirectory(imageRoot: string, job: string, name: string, node: string): string {
  return path.join(path.resolve(imageRoot), checkCheckpointName(job, 'job'), checkCheckpointName(name), checkCheckpointName(node, 'node'));
}

/** Where a process tree's images live: `<imageRoot>/<job>/<name>/<node>/tree-<T>`. */
export function treeDirectory(imageRoot: string, job: string, name: string, node: string, tree: string): string {
  return path.join(nodeDirectory(imageRoot, job, name, node), `tree-${checkCheckpointName(tree, 'tree name')}`);
}

/** Where a rank's images live: `<imageRoot>/<job>/<name>/<node>/rank-<R>`. */
export function rankDirectory(imageRoot: string, job: string, name: string, node: string, rank: number): string {
  return path.join(nodeDirectory(imageRoot, job, name, node), `rank-${rank}`);
}

function errnoOf(error: unknown): number {
  const e = error as { errno?: number; code?: string };
  if (e.code === 'ABORT_ERR') return 125; // ECANCELED: the coordinator cancelled the request
  return typeof e.errno === 'number' && e.errno > 0 ? e.errno : 5; /* EIO */
}

// Requests cancelled before this node got to them (a bounded memory of recent cancels).
const REMEMBERED_CANCELS = 64;

export class LauncherNode {
  private readonly ranks = new Map<number, number>();
  private readonly trees = new Map<string, { pid: number; options: TreeOptions }>();
  private busy: Promise<void> = Promise.resolve();
  private subscriptions: FtbSubscription[] = [];
  /** The request being served, so a JOB_CANCEL for it can abort its checkpoints or restarts. */
  private current: { handle: Buffer; controller: AbortController } | null = null;
  private cancelled: Buffer[] = [];
  /** The last operation of each kind, for the launcher's own bookkeeping and tests. */
  readonly history: NodeOperationRecord[] = [];

  private constructor(
    private readonly client: FtbClient,
    readonly options: LauncherNodeOptions,
  ) {}

  static async start(options: LauncherNodeOptions): Promise<LauncherNode> {
    if (typeof options.imageRoot !== 'string' || options.imageRoot === '') {
      throw codedError('EINVAL', 'LauncherNode needs imageRoot: the directory of this node under which checkpoints are written', 22);
    }
    nodeDirectory(options.imageRoot, options.job, 'x', options.node); // job and node must be plain names too
    const client = await FtbClient.connect(
      { eventSpace: LAUNCHER_EVENT_SPACE, clientName: options.node, jobId: options.job, subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
      options.ftb,
    );
    client.declare(NODE_EVENTS);
    const node = new LauncherNode(client, options);
    for (const op of ['checkpoint', 'restart'] as const) {
      const sub = client.subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=${options.job}, event_name=${REQUEST_EVENT[op]}`);
      sub.on('event', (event: FtbReceivedEvent) => node.enqueue(op, event));
      node.subscriptions.push(sub);
    }
    const cancels = client.subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=${options.job}, event_name=${CANCEL_EVENT}`);
    cancels.on('event', (event: FtbReceivedEvent) => node.cancel(decodeNodeAnswer(event.payload).requestHandle));
    node.subscriptions.push(cancels);
    return node;
  }

  /** Registers a local rank (a process this launcher started). */
  addRank(rank: number, pid: number): void {
    if (!Number.isInteger(rank) || rank < 0) throw codedError('EINVAL', `rank must be a non-negative integer, got ${rank}`, 22);
    if (!Number.isInteger(pid) || pid <= 0) throw codedError('EINVAL', `pid must be a positive integer, got ${pid}`, 22);
    this.ranks.set(rank, pid);
  }

  removeRank(rank: number): void {
    this.ranks.delete(rank);
  }

  /**
   * Registers a process tree this launcher started: `pid` and every process under it are dumped
   * together (CRIU scope 'tree') and restored together. The root must lead its own session
   * (started with setsid; stdio on files) — the launcher's `mpiexec`/`mpirun`, or a node's proxy.
   */
  addTree(name: string, pid: number, options: TreeOptions = {}): void {
    checkCheckpointName(name, 'tree name');
    if (!Number.isInteger(pid) || pid <= 1) throw codedError('EINVAL', `pid must be an integer above 1, got ${pid}`, 22);
    this.trees.set(name, { pid, options: { ...options } });
  }

  removeTree(name: string): void {
    this.trees.delete(name);
  }

  localTrees(): TreeRecord[] {
    return [...this.trees].map(([name, { pid }]) => ({ name, pid })).sort((a, b) => a.name.localeCompare(b.name));
  }

  localRanks(): RankRecord[] {
    return [...this.ranks].map(([rank, pid]) => ({ rank, pid })).sort((a, b) => a.rank - b.rank);
  }

  /** Requests are served one at a time, in arrival order. */
  private enqueue(op: Operation, event: FtbReceivedEvent): void {
    this.busy = this.busy.then(() => this.serve(op, event)).catch(() => undefined);
  }

  /** Resolves when every request received so far has been answered. */
  idle(): Promise<void> {
    return this.busy;
  }

  private cancel(handle: Buffer): void {
    if (this.current?.handle.equals(handle)) this.current.controller.abort(codedError('ECANCELED', 'the coordinator cancelled the request', 125));
    this.cancelled.push(handle);
    if (this.cancelled.length > REMEMBERED_CANCELS) this.cancelled.shift();
  }

  private async serve(op: Operation, event: FtbReceivedEvent): Promise<void> {
    if (!event.handle) return;
    const handle = event.handle.bytes;
    let request: JobRequest;
    try {
      request = decodeRequest(op, event.payload);
    } catch (error) {
      this.answer(op, event.handle.bytes, errnoOf(error), 0);
      return;
    }
    if (!request.nodes.includes(this.options.node)) return;
    if (this.cancelled.some((c) => c.equals(handle))) {
      this.answer(op, handle, 125, 0);
      return;
    }
    const controller = new AbortController();
    this.current = { handle, controller };
    let record: NodeOperationRecord;
    try {
      record = op === 'checkpoint' ? await this.checkpointRanks(request.name, controller.signal) : await this.restartRanks(request.name, controller.signal);
    } finally {
      this.current = null;
    }
    this.history.push(record);
    this.answer(op, handle, record.errno, record.ranks.length + record.trees.length);
  }

  private answer(op: Operation, requestHandle: Buffer, errno: number, ranks: number): void {
    const name = errno === 0 ? NODE_RESULT_EVENT[op].ok : NODE_RESULT_EVENT[op].error;
    this.client.publish(name, { eventType: 2, payload: encodeNodeAnswer({ requestHandle, errno, ranks }) });
  }

  // Ranks are dumped concurrently, so the job is frozen for about as long as its slowest rank.
  private rankDirectory(name: string, rank: number): string {
    return rankDirectory(this.options.imageRoot, this.options.job, name, this.options.node, rank);
  }

  private treeDirectory(name: string, tree: string): string {
    return treeDirectory(this.options.imageRoot, this.options.job, name, this.options.node, tree);
  }

  // Ranks and trees are dumped concurrently, one CRIU dump each.
  private async checkpointRanks(name: string, signal: AbortSignal): Promise<NodeOperationRecord> {
    const ranks = this.localRanks();
    const trees = this.localTrees();
    const dir = nodeDirectory(this.options.imageRoot, this.options.job, name, this.options.node);
    // Image directories hold whole memories: the node's directory is private like each rank's.
    await mkdir(dir, { recursive: true, mode: 0o700 }).catch(() => undefined);
    const results = await Promise.allSettled([
      ...ranks.map((r) => checkpoint({ ftb: this.ftb(), ...this.options.checkpoint, target: r.pid, scope: 'tree', dir: this.rankDirectory(name, r.rank), signal })),
      ...trees.map((tr) =>
        checkpoint({ ftb: this.ftb(), ...this.options.checkpoint, ...this.trees.get(tr.name)!.options, target: tr.pid, scope: 'tree', dir: this.treeDirectory(name, tr.name), signal }),
      ),
    ]);
    return this.record('checkpoint', name, ranks, trees, results.map((r) => (r.status === 'rejected' ? r.reason : null)));
  }

  private async restartRanks(name: string, signal: AbortSignal): Promise<NodeOperationRecord> {
    const ranks = this.localRanks();
    const trees = this.localTrees();
    const results = await Promise.allSettled([
      ...ranks.map((r) => restartDetailed({ ftb: this.ftb(), ...this.options.restart, dir: this.rankDirectory(name, r.rank), signal })),
      ...trees.map((tr) => restartDetailed({ ftb: this.ftb(), ...this.options.restart, dir: this.treeDirectory(name, tr.name), signal })),
    ]);
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      if (i < ranks.length) this.ranks.set(ranks[i].rank, r.value.pid);
      else this.trees.get(trees[i - ranks.length].name)!.pid = r.value.pid;
    });
    return this.record('restart', name, this.localRanks(), this.localTrees(), results.map((r) => (r.status === 'rejected' ? r.reason : null)));
  }

  // The ranks' BLCR events go to the node's own agent unless the caller says otherwise.
  private ftb(): { agentHost?: string; agentPort?: number } | undefined {
    const { agentHost, agentPort } = this.options.ftb ?? {};
    return agentHost === undefined && agentPort === undefined ? undefined : { agentHost, agentPort };
  }

  private record(op: Operation, name: string, ranks: RankRecord[], trees: TreeRecord[], errors: unknown[]): NodeOperationRecord {
    const first = errors.find((e) => e !== null) as CrftbError | undefined;
    const dir = nodeDirectory(this.options.imageRoot, this.options.job, name, this.options.node);
    if (ranks.length === 0 && trees.length === 0) {
      const error = codedError('ESRCH', `node ${this.options.node} has no ranks or trees to ${op}`, 3);
      return { op, name, dir, ok: false, errno: 3, ranks, trees, error };
    }
    return { op, name, dir, ok: !first, errno: first ? errnoOf(first) : 0, ranks, trees, error: first };
  }

  async close(): Promise<void> {
    await this.busy;
    await this.client.close();
  }
}
