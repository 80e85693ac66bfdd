// The coordinator half of a launcher plugin (the part that lives in mpirun or its equivalent):
// one request event to every node of a job, one answer per node, one job-level result event —
// the "global snapshot complete" that Open MPI's SnapC and MVAPICH2's FTB C/R provided.
import { FtbClient, type FtbEventHandle, type FtbReceivedEvent } from '../ftb/client';
import type { FtbConnectOptions } from '../ftb/types';
import { checkInteger, checkObject, checkOptionalString, checkString } from '../check';
import { codedError } from '../errors';
import { abortError, checkSignal } from '../abort';
import {
  CANCEL_EVENT,
  checkCheckpointName,
  COMMIT_EVENT,
  COORDINATOR_EVENTS,
  decodeNodeAnswer,
  encodeJobResult,
  encodeRequest,
  JOB_RESULT_EVENT,
  LAUNCHER_EVENT_SPACE,
  NODE_COMMIT_EVENT,
  NODE_RESULT_EVENT,
  type Operation,
  REQUEST_EVENT,
} from './protocol';

export interface JobCoordinatorOptions {
  /** Job id (FTB jobid, ≤ 15 characters), shared with the job's launcher nodes. */
  job: string;
  /** FTB client name of the coordinator (default `coordinator`). */
  name?: string;
  ftb?: FtbConnectOptions;
}

export interface JobOperationOptions {
  /** The job's nodes (their launcher-node names). */
  nodes: string[];
  /**
   * The checkpoint's name (default `latest`): one plain path component. Each node keeps it under
   * its own image root, as `<imageRoot>/<job>/<name>/<node>/tree-<T>`; a new checkpoint of the
   * same name replaces the previous one only once it succeeded.
   */
  name?: string;
  /**
   * How long to wait for every node's answer (default 120 s). At the deadline the nodes still
   * working are told to stop (JOB_CANCEL): they leave their processes running. The result then has
   * errno ETIMEDOUT and lists them as missing.
   */
  timeoutMs?: number;
  /**
   * Aborting tells the nodes to stop (JOB_CANCEL: processes left running), publishes the job's ERROR
   * with ECANCELED, and rejects with an AbortError.
   */
  signal?: AbortSignal;
  /**
   * A checkpoint's second phase (commit, then kill or resume) has its own bound (default 30 s),
   * since by then the decision is taken and every node must hear it whatever is left of
   * timeoutMs; nodes whose commit answer is missing at the bound are listed as missing.
   */
  commitTimeoutMs?: number;
}

export interface NodeResult {
  node: string;
  /** The node's address as written in its event. */
  host: string;
  ok: boolean;
  errno: number;
  /** Process trees the node handled. */
  trees: number;
  /**
   * Which phase this answer is from: `dump` (NODE_CHKPT_END / NODE_CHKPT_ERROR: phase one),
   * `commit` (NODE_COMMIT_END / NODE_COMMIT_ERROR), or `restart`. A failed node's errno is that
   * phase's; why in words is in the node's own history (FTB payloads have no room for text).
   */
  phase: 'dump' | 'commit' | 'restart';
}

export interface JobResult {
  op: Operation;
  job: string;
  ok: boolean;
  /** 0, the first failing node's errno, or ETIMEDOUT (110) when nodes did not answer in time. */
  errno: number;
  nodes: NodeResult[];
  /** Nodes that did not answer before the deadline. */
  missing: string[];
  /** A checkpoint: whether the coordinator told the nodes to commit (every node dumped). */
  committed: boolean;
  /** Handle of the request event; the job result event's payload starts with it. */
  request: FtbEventHandle;
  seconds: number;
}

const ETIMEDOUT = 110;
const ECANCELED = 125;

export class JobCoordinator {
  private pending: { onAnswer(event: FtbReceivedEvent, ok: boolean, phase: NodeResult['phase']): void } | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly client: FtbClient,
    readonly job: string,
  ) {}

  static async start(options: JobCoordinatorOptions): Promise<JobCoordinator> {
    checkObject(options, 'JobCoordinator.start(options)');
    checkString(options.job, 'JobCoordinator options.job');
    checkOptionalString(options.name, 'JobCoordinator options.name');
    const client = await FtbClient.connect(
      {
        eventSpace: LAUNCHER_EVENT_SPACE,
        clientName: options.name ?? 'coordinator',
        jobId: options.job,
        subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
      },
      options.ftb,
    );
    client.declare(COORDINATOR_EVENTS);
    const coordinator = new JobCoordinator(client, options.job);
    const answers = [
      [NODE_RESULT_EVENT.checkpoint, 'dump'],
      [NODE_COMMIT_EVENT, 'commit'],
      [NODE_RESULT_EVENT.restart, 'restart'],
    ] as const;
    for (const [names, phase] of answers) {
      for (const [name, ok] of [
        [names.ok, true],
        [names.error, false],
      ] as const) {
        const sub = client.subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=${options.job}, event_name=${name}`);
        sub.on('event', (event: FtbReceivedEvent) => coordinator.pending?.onAnswer(event, ok, phase));
      }
    }
    return coordinator;
  }

  /** Checkpoints every process tree of every node as one job. */
  checkpoint(options: JobOperationOptions): Promise<JobResult> {
    return this.serialize(() => this.run('checkpoint', options));
  }

  /** Restarts every process tree of every node from the job's images. */
  restart(options: JobOperationOptions): Promise<JobResult> {
    return this.serialize(() => this.run('restart', options));
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  // Publishes one event and collects one answer of `phase` per node until all answered, the
  // deadline passes or the signal aborts. `publish` runs after the collector is in place.
  private async collect(
    nodes: string[],
    phase: NodeResult['phase'],
    publish: () => FtbEventHandle,
    requestOf: (published: FtbEventHandle) => FtbEventHandle,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ published: FtbEventHandle; answers: Map<string, NodeResult> }> {
    const answers = new Map<string, NodeResult>();
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    // publish() returns the handle synchronously and deliveries reach JS only on a later turn of
    // the event loop, so the handle is always known before the first answer is examined.
    let request: FtbEventHandle | null = null;
    this.pending = {
      onAnswer: (event, ok, answerPhase) => {
        if (!request || answerPhase !== phase || event.eventType !== 2 || !nodes.includes(event.clientName)) return;
        const answer = decodeNodeAnswer(event.payload);
        if (!request.equals(answer.requestHandle)) return;
        // FTB has no authentication, so two answers in one node's name for one request mean one
        // was forged: an ERROR is kept over an END, and a forged END cannot hide a failure that
        // arrives before the decision (once every node has answered, the decision is taken).
        const known = answers.get(event.clientName);
        if (known && (ok || !known.ok)) return;
        answers.set(event.clientName, {
          node: event.clientName,
          host: event.hostname,
          ok,
          errno: ok ? 0 : answer.errno,
          trees: answer.trees,
          phase,
        });
        if (!known && answers.size === nodes.length) finish();
      },
    };
    const timer = setTimeout(finish, timeoutMs);
    signal?.addEventListener('abort', finish, { once: true });
    let published: FtbEventHandle;
    try {
      published = publish();
      request = requestOf(published);
      await done;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', finish);
      this.pending = null;
    }
    return { published, answers };
  }

  private async run(op: Operation, options: JobOperationOptions): Promise<JobResult> {
    checkObject(options, `job ${op}(options)`);
    if (!Array.isArray(options.nodes))
      throw codedError('EINVAL', `job ${op}: options.nodes must be an array of node names`);
    const nodes = [...new Set(options.nodes.map((node) => checkCheckpointName(node, 'node')))];
    if (nodes.length === 0) throw codedError('EINVAL', 'a job operation needs at least one node');
    // Bounded by what a timer can wait (setTimeout fires at once past 2^31 - 1 ms).
    const timeoutMs = checkInteger(options.timeoutMs, `job ${op}: options.timeoutMs`, 1, 2 ** 31 - 1, 120_000);
    const commitTimeoutMs = checkInteger(
      options.commitTimeoutMs,
      `job ${op}: options.commitTimeoutMs`,
      1,
      2 ** 31 - 1,
      30_000,
    );
    const signal = checkSignal(options.signal);
    if (signal?.aborted) throw abortError(signal, `job ${op}`);
    const payload = encodeRequest({ op, name: options.name ?? 'latest', nodes });
    const started = process.hrtime.bigint();
    const phase = op === 'checkpoint' ? 'dump' : 'restart';
    const first = await this.collect(
      nodes,
      phase,
      () => this.client.publish(REQUEST_EVENT[op], { eventType: 1, payload }),
      (published) => published,
      timeoutMs,
      signal,
    );
    const request = first.published;
    let answers = first.answers;
    let missing = nodes.filter((n) => !answers.has(n));
    const aborted = Boolean(signal?.aborted) && missing.length > 0;
    const failed = [...answers.values()].find((a) => !a.ok);
    let errno = aborted ? ECANCELED : failed ? failed.errno : missing.length > 0 ? ETIMEDOUT : 0;
    let committed = false;
    if (errno !== 0) {
      // Nodes still dumping stop; nodes that dumped resume their processes and drop the images.
      this.client.publish(CANCEL_EVENT, { eventType: 1, payload: encodeJobResult(request.bytes, errno) });
    } else if (op === 'checkpoint') {
      committed = true;
      const second = await this.collect(
        nodes,
        'commit',
        () => this.client.publish(COMMIT_EVENT, { eventType: 1, payload: encodeJobResult(request.bytes, 0) }),
        () => request,
        commitTimeoutMs,
        undefined, // the decision is taken: every node must hear it
      );
      answers = new Map([...answers, ...second.answers]);
      missing = nodes.filter((n) => !second.answers.has(n));
      const commitFailed = [...second.answers.values()].find((a) => !a.ok);
      errno = commitFailed ? commitFailed.errno : missing.length > 0 ? ETIMEDOUT : 0;
    }
    const ok = errno === 0;
    this.client.publish(ok ? JOB_RESULT_EVENT[op].ok : JOB_RESULT_EVENT[op].error, {
      eventType: 2,
      payload: encodeJobResult(request.bytes, errno),
    });
    if (aborted) throw abortError(signal!, `job ${op}`);
    return {
      op,
      job: this.job,
      ok,
      errno,
      nodes: nodes.filter((n) => answers.has(n)).map((n) => answers.get(n)!),
      missing,
      committed,
      request,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  }

  async close(): Promise<void> {
    await this.queue;
    await this.client.close();
  }
}
