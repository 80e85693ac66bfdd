// The per-node half of a launcher plugin: one per node of a job (beside the launcher's own node
// daemon, e.g. an MPI proxy), holding the node's process trees; a single independent process is a
// tree of one. There is no per-rank unit: one rank of a real MPI job alone cannot be checkpointed
// (its sockets to the process manager are half of a connection, its shared-memory segments are
// shared with the other ranks), the launcher or node daemon with everything under it can (README
// "Checkpointing MPI jobs"). On a job-wide request it checkpoints or restarts its trees through
// crftb's libcr API — which publishes the BLCR CHKPT_*/RSTRT_* events of each itself — and answers
// the coordinator with one NODE_* event. Where images go is this node's own configuration
// (imageRoot); a request only names the checkpoint.
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import {
  checkpoint,
  restartDetailed,
  type CheckpointOptions,
  type CheckpointResult,
  type EngineTuningOptions,
  type RestartOptions,
  type RestoredExit,
} from '../cr';
import { FtbClient, type FtbReceivedEvent, type FtbSubscription } from '../ftb/client';
import type { FtbConnectOptions } from '../ftb/types';
import { checkInteger, checkObject, checkOptionalObject, checkString } from '../check';
import { codedError, CrftbError } from '../errors';
import { killAndAwait, signalAll } from './processes';
import {
  CANCEL_EVENT,
  checkCheckpointName,
  COMMIT_EVENT,
  decodeNodeAnswer,
  decodeRequest,
  encodeNodeAnswer,
  LAUNCHER_EVENT_SPACE,
  NODE_COMMIT_EVENT,
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
   * This node's image root. Checkpoint `name` of tree T goes to
   * `<imageRoot>/<job>/<name>/<node>/tree-<T>` (see treeDirectory); requests never carry a path.
   */
  imageRoot: string;
  /** Where the node's FTB agent is (default: FTB's own resolution). */
  ftb?: FtbConnectOptions;
  /**
   * Extra checkpoint options for every tree (engine, criu binary, timeoutMs, ...).
   * `kill` / `stop` / `leaveRunning` say what happens to the processes once the whole job's
   * checkpoint is committed; until then they are stopped (phase one of the protocol).
   */
  checkpoint?: Omit<CheckpointOptions, 'target' | 'dir' | 'file' | 'scope'>;
  restart?: Omit<RestartOptions, 'dir' | 'file'>;
  /**
   * How long the node keeps its dumped processes stopped waiting for the coordinator's decision
   * (default 60 s). Without one by then it resumes them and drops the images set aside: a
   * coordinator that died never leaves a job stopped for good.
   */
  decisionTimeoutMs?: number;
}

/** What a restart of this node brought back gives its caller: see RestartResult.exited. */
interface Restored {
  /** Settles with the exit status once the restored process (a tree's root) ends. */
  exited?: Promise<RestoredExit>;
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

export interface TreeRecord extends Restored {
  /** The tree's name (a plain path component): its images are `<node dir>/tree-<name>`. */
  name: string;
  /** Its root: the launcher (mpiexec, mpirun) or a node's proxy/daemon, with every descendant. */
  pid: number;
}

/**
 * Where a checkpoint ended on this node: `dump` (phase one: a tree could not be dumped,
 * or the request was cancelled meanwhile), `decision` (dumped, then the job was cancelled or no
 * decision came: processes resumed, images dropped), `commit` (the images made the checkpoint,
 * then the processes killed, resumed or left stopped; or that failed). Restarts: `restart`.
 */
export type NodePhase = 'dump' | 'decision' | 'commit' | 'restart';

export interface NodeOperationRecord {
  op: Operation;
  phase: NodePhase;
  /** The checkpoint's name, as requested. */
  name: string;
  /** Its directory on this node: `<imageRoot>/<job>/<name>/<node>`. */
  dir: string;
  ok: boolean;
  errno: number;
  trees: TreeRecord[];
  error?: CrftbError;
}

/** Where a node keeps one checkpoint of a job: `<imageRoot>/<job>/<name>/<node>`. */
export function nodeDirectory(imageRoot: string, job: string, name: string, node: string): string {
  return path.join(
    path.resolve(checkString(imageRoot, 'imageRoot')),
    checkCheckpointName(job, 'job'),
    checkCheckpointName(name),
    checkCheckpointName(node, 'node'),
  );
}

/** Where a process tree's images live: `<imageRoot>/<job>/<name>/<node>/tree-<T>`. */
export function treeDirectory(imageRoot: string, job: string, name: string, node: string, tree: string): string {
  return path.join(nodeDirectory(imageRoot, job, name, node), `tree-${checkCheckpointName(tree, 'tree name')}`);
}

/**
 * Where a node sets its images aside during phase one: `<node dir>+pending` (`+` is never part of
 * a name, so it cannot be another node's directory). Committing renames it to the node directory.
 */
export function pendingDirectory(imageRoot: string, job: string, name: string, node: string): string {
  return `${nodeDirectory(imageRoot, job, name, node)}+pending`;
}

// The errno a node's answer carries on the wire: positive, as BLCR's ERROR payload has it (the
// JS error's negative errno, or BLCR's own number for a CR_E* code).
function errnoOf(error: unknown): number {
  const e = error as { errno?: number; codeNumber?: number; code?: string };
  if (e.code === 'ABORT_ERR') return 125; // ECANCELED: the coordinator cancelled the request
  if (typeof e.errno === 'number' && e.errno < 0) return -e.errno;
  if (e.code?.startsWith('CR_E') && typeof e.codeNumber === 'number' && e.codeNumber > 0) return e.codeNumber;
  return 5; /* EIO */
}

// Requests cancelled before this node got to them (a bounded memory of recent cancels).
const REMEMBERED_CANCELS = 64;

export class LauncherNode {
  private readonly trees = new Map<string, { pid: number; options: TreeOptions } & Restored>();
  private busy: Promise<void> = Promise.resolve();
  private subscriptions: FtbSubscription[] = [];
  /**
   * The request being served, so a JOB_CANCEL for it can abort its checkpoints or restarts (or
   * roll back its dumped processes), and a JOB_CHKPT_COMMIT can commit them.
   */
  private current: { handle: Buffer; controller: AbortController; commit(): void } | null = null;
  private cancelled: Buffer[] = [];
  /** The last operation of each kind, for the launcher's own bookkeeping and tests. */
  readonly history: NodeOperationRecord[] = [];

  private constructor(
    private readonly client: FtbClient,
    readonly options: LauncherNodeOptions,
  ) {}

  static async start(options: LauncherNodeOptions): Promise<LauncherNode> {
    checkObject(options, 'LauncherNode.start(options)');
    checkInteger(options.decisionTimeoutMs, 'LauncherNode options.decisionTimeoutMs', 1, 2 ** 31 - 1, 60_000);
    checkOptionalObject(options.checkpoint, 'LauncherNode options.checkpoint');
    checkOptionalObject(options.restart, 'LauncherNode options.restart');
    if (typeof options.imageRoot !== 'string' || options.imageRoot === '') {
      throw codedError(
        'EINVAL',
        'LauncherNode needs imageRoot: the directory of this node under which checkpoints are written',
      );
    }
    nodeDirectory(options.imageRoot, options.job, 'x', options.node); // job and node must be plain names too
    const client = await FtbClient.connect(
      {
        eventSpace: LAUNCHER_EVENT_SPACE,
        clientName: options.node,
        jobId: options.job,
        subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
      },
      options.ftb,
    );
    client.declare(NODE_EVENTS);
    const node = new LauncherNode(client, options);
    for (const op of ['checkpoint', 'restart'] as const) {
      const sub = client.subscribe(
        `event_space=${LAUNCHER_EVENT_SPACE}, jobid=${options.job}, event_name=${REQUEST_EVENT[op]}`,
      );
      sub.on('event', (event: FtbReceivedEvent) => node.enqueue(op, event));
      node.subscriptions.push(sub);
    }
    const cancels = client.subscribe(
      `event_space=${LAUNCHER_EVENT_SPACE}, jobid=${options.job}, event_name=${CANCEL_EVENT}`,
    );
    cancels.on('event', (event: FtbReceivedEvent) => node.cancel(decodeNodeAnswer(event.payload).requestHandle));
    node.subscriptions.push(cancels);
    const commits = client.subscribe(
      `event_space=${LAUNCHER_EVENT_SPACE}, jobid=${options.job}, event_name=${COMMIT_EVENT}`,
    );
    commits.on('event', (event: FtbReceivedEvent) => {
      if (node.current?.handle.equals(decodeNodeAnswer(event.payload).requestHandle)) node.current.commit();
    });
    node.subscriptions.push(commits);
    return node;
  }

  /**
   * Registers a process tree this launcher started: `pid` and every process under it are dumped
   * together (CRIU scope 'tree') and restored together. The root must lead its own session
   * (started with setsid; stdio on files) — the launcher's `mpiexec`/`mpirun`, or a node's proxy.
   * A single process with no connection or shared memory to the job's other processes is a tree
   * of one. One rank of a real MPI job is not: it is half of its process manager's sockets and
   * shares its memory segments, so its dump alone fails or cannot be restored — register the
   * launcher's or node daemon's tree (README "Checkpointing MPI jobs").
   */
  addTree(name: string, pid: number, options?: TreeOptions): void {
    checkCheckpointName(name, 'tree name');
    if (!Number.isInteger(pid) || pid <= 1) throw codedError('EINVAL', `pid must be an integer above 1, got ${pid}`);
    options = checkOptionalObject(options, 'addTree(name, pid, options)');
    // Checked now, as the dump would (native/cr/request_binding.cc), not at the job's checkpoint.
    checkInteger(options.ghostLimit, 'addTree options.ghostLimit', 0, 0xffffffff, 0);
    this.trees.set(name, { pid, options: { ...options } });
  }

  removeTree(name: string): void {
    checkCheckpointName(name, 'tree name');
    this.trees.delete(name);
  }

  /** The registered trees; after a restart, each with the restored root's `exited`. */
  localTrees(): TreeRecord[] {
    return [...this.trees]
      .map(([name, { pid, exited }]) => ({ name, pid, exited }))
      .sort((a, b) => a.name.localeCompare(b.name));
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
    if (this.current?.handle.equals(handle))
      this.current.controller.abort(codedError('ECANCELED', 'the coordinator cancelled the request', 125));
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
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    this.current = { handle, controller, commit };
    let record: NodeOperationRecord;
    try {
      if (op === 'checkpoint') {
        record = await this.checkpointJob(request.name, handle, controller.signal, committed);
      } else {
        record = await this.restartTrees(request.name, controller.signal);
        this.answer(NODE_RESULT_EVENT.restart, handle, record.errno, record.trees.length);
      }
    } finally {
      this.current = null;
    }
    this.history.push(record);
  }

  private answer(
    event: { ok: string; error: string } | Operation,
    requestHandle: Buffer,
    errno: number,
    trees: number,
  ): void {
    const names = typeof event === 'string' ? NODE_RESULT_EVENT[event] : event;
    this.client.publish(errno === 0 ? names.ok : names.error, {
      eventType: 2,
      payload: encodeNodeAnswer({ requestHandle, errno, trees }),
    });
  }

  private treeDirectory(name: string, tree: string): string {
    return treeDirectory(this.options.imageRoot, this.options.job, name, this.options.node, tree);
  }

  // What happens to the processes once the job's checkpoint is committed.
  private disposition(): 'kill' | 'stop' | 'resume' {
    const { kill, stop, leaveRunning } = this.options.checkpoint ?? {};
    if ([kill, stop, leaveRunning].filter(Boolean).length > 1)
      throw codedError('EINVAL', 'choose one of leaveRunning, stop and kill');
    return kill ? 'kill' : stop ? 'stop' : 'resume';
  }

  /**
   * Phase one, the decision, and phase two of a job checkpoint on this node (protocol.ts,
   * COMMIT_EVENT). Trees are dumped concurrently, one CRIU dump each, and left stopped: the job is
   * frozen for about as long as its slowest tree's dump.
   */
  private async checkpointJob(
    name: string,
    handle: Buffer,
    signal: AbortSignal,
    committed: Promise<void>,
  ): Promise<NodeOperationRecord> {
    const trees = this.localTrees();
    const fail = (
      phase: NodePhase,
      error: unknown,
      answer: { ok: string; error: string } | null,
    ): NodeOperationRecord => {
      const record = this.record('checkpoint', phase, name, trees, [error]);
      if (answer) this.answer(answer, handle, record.errno, trees.length);
      return record;
    };
    let disposition: 'kill' | 'stop' | 'resume';
    try {
      disposition = this.disposition();
    } catch (error) {
      return fail('dump', error, NODE_RESULT_EVENT.checkpoint);
    }
    if (trees.length === 0) return fail('dump', null, NODE_RESULT_EVENT.checkpoint);
    const pending = pendingDirectory(this.options.imageRoot, this.options.job, name, this.options.node);
    // Image directories hold whole memories: the node's directory is private like each tree's.
    await mkdir(pending, { recursive: true, mode: 0o700 }).catch(() => undefined);
    const { kill: _kill, stop: _stop, leaveRunning: _leave, ...options } = this.options.checkpoint ?? {};
    const dirs = trees.map((tr) => path.join(pending, `tree-${tr.name}`));
    const results = await Promise.allSettled(
      trees.map((tr, i) =>
        checkpoint({
          ftb: this.ftb(),
          ...options,
          ...this.trees.get(tr.name)!.options,
          target: tr.pid,
          scope: 'tree',
          dir: dirs[i],
          stop: true,
          signal,
        }),
      ),
    );
    const dumped = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const rollBack = async () => {
      for (const result of dumped) signalAll(result.pids, 'SIGCONT');
      await this.dropImages(results, dirs);
    };
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) {
      await rollBack();
      let reason = (failed as PromiseRejectedResult).reason as CrftbError & { committed?: boolean };
      // A dump interrupted after its images were complete had them committed (set aside here);
      // they were just dropped with the rest, so the error must not point at them.
      if (reason?.committed)
        reason = new CrftbError(
          reason.code ?? 'EIO',
          `${reason.message}; the node dropped those images: the job was not checkpointed`,
          { number: reason.errno ?? reason.codeNumber, cause: reason },
        );
      return fail('dump', reason, NODE_RESULT_EVENT.checkpoint);
    }
    // The decision can only follow the answer, so waiting for it starts first.
    const decision = this.decision(signal, committed);
    this.answer(NODE_RESULT_EVENT.checkpoint, handle, 0, trees.length);
    const refused = await decision;
    if (refused) {
      await rollBack();
      return fail('decision', refused, null);
    }
    const pids = dumped.flatMap((r) => r.pids);
    try {
      await this.commitImages(name);
    } catch (error) {
      signalAll(pids, 'SIGCONT');
      return fail('commit', error, NODE_COMMIT_EVENT);
    }
    if (disposition === 'kill' && !(await killAndAwait(pids))) {
      return fail(
        'commit',
        codedError(
          'ETIMEDOUT',
          `the checkpointed processes of node ${this.options.node} did not die within 2 s of SIGKILL`,
        ),
        NODE_COMMIT_EVENT,
      );
    }
    if (disposition === 'resume') signalAll(pids, 'SIGCONT');
    this.answer(NODE_COMMIT_EVENT, handle, 0, trees.length);
    return this.record('checkpoint', 'commit', name, trees, []);
  }

  // Resolves null on JOB_CHKPT_COMMIT; the reason on JOB_CANCEL (the request's signal) or when
  // no decision came within decisionTimeoutMs.
  private decision(signal: AbortSignal, committed: Promise<void>): Promise<unknown> {
    const ms = this.options.decisionTimeoutMs ?? 60_000;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () =>
          resolve(
            codedError(
              'ETIMEDOUT',
              `no commit or cancel from the coordinator within ${ms} ms (decisionTimeoutMs): processes resumed`,
            ),
          ),
        ms,
      );
      const done = (value: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onAbort = () =>
        done(signal.reason ?? codedError('ECANCELED', 'the coordinator cancelled the request', 125));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      void committed.then(() => done(null));
    });
  }

  // Drops the images set aside by dumps that completed (or committed on an interrupt); a failed
  // dump's own leftovers are crftb's to clean, and its log stays where its error message says.
  private async dropImages(results: PromiseSettledResult<CheckpointResult>[], dirs: string[]): Promise<void> {
    await Promise.all(
      results.map(async (r, i) => {
        if (r.status === 'rejected' && !(r.reason as { committed?: boolean })?.committed) return;
        await rm(dirs[i], { force: true });
        await rm(`${dirs[i]}.gens`, { recursive: true, force: true });
      }),
    );
  }

  // Makes the images set aside the checkpoint `name` of this node: the previous one (if any) is
  // moved away, the new one renamed into place, the previous one removed. Generations are linked
  // relatively inside the node directory, so renaming it keeps them whole.
  private async commitImages(name: string): Promise<void> {
    const final = nodeDirectory(this.options.imageRoot, this.options.job, name, this.options.node);
    const pending = pendingDirectory(this.options.imageRoot, this.options.job, name, this.options.node);
    const old = `${final}+old`;
    await rm(old, { recursive: true, force: true });
    let moved = false;
    try {
      await rename(final, old);
      moved = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    try {
      await rename(pending, final);
    } catch (error) {
      if (moved) await rename(old, final).catch(() => undefined);
      throw error;
    }
    await rm(old, { recursive: true, force: true });
  }

  private async restartTrees(name: string, signal: AbortSignal): Promise<NodeOperationRecord> {
    const trees = this.localTrees();
    const results = await Promise.allSettled(
      trees.map((tr) =>
        restartDetailed({ ftb: this.ftb(), ...this.options.restart, dir: this.treeDirectory(name, tr.name), signal }),
      ),
    );
    results.forEach((r, i) => {
      if (r.status !== 'fulfilled') return;
      const { pid, exited } = r.value;
      Object.assign(this.trees.get(trees[i].name)!, { pid, exited });
    });
    return this.record(
      'restart',
      'restart',
      name,
      this.localTrees(),
      results.map((r) => (r.status === 'rejected' ? r.reason : null)),
    );
  }

  // The trees' BLCR events go to the node's own agent unless the caller says otherwise.
  private ftb(): { agentHost?: string; agentPort?: number } | undefined {
    const { agentHost, agentPort } = this.options.ftb ?? {};
    return agentHost === undefined && agentPort === undefined ? undefined : { agentHost, agentPort };
  }

  private record(
    op: Operation,
    phase: NodePhase,
    name: string,
    trees: TreeRecord[],
    errors: unknown[],
  ): NodeOperationRecord {
    const first = errors.find((e) => e !== null && e !== undefined) as CrftbError | undefined;
    const dir = nodeDirectory(this.options.imageRoot, this.options.job, name, this.options.node);
    if (trees.length === 0) {
      const error = codedError('ESRCH', `node ${this.options.node} has no trees to ${op}`, 3);
      return { op, phase, name, dir, ok: false, errno: 3, trees, error };
    }
    return { op, phase, name, dir, ok: !first, errno: first ? errnoOf(first) : 0, trees, error: first };
  }

  async close(): Promise<void> {
    await this.busy;
    await this.client.close();
  }
}
