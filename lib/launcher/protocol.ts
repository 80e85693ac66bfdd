// The launcher protocol: how a job coordinator and per-node launcher daemons agree, over FTB, on
// a job-wide checkpoint or restart. Modelled on MVAPICH2's FTB-coordinated C/R (a request event,
// per-node results, one job-level result) with BLCR's correlation rule: every result event is
// type 2 and its payload starts with the 360-byte handle of the request it answers.
//
// All events live in one event space; the job is the FTB `jobid` of every client, so agents
// route a job's traffic only to that job's coordinator and nodes.
//
// FTB has no authentication: anyone who reaches an agent can publish a request. So a request
// never carries a path. It names a checkpoint with one plain path component, checked here on
// both sides, and each node places the images below an image root of its own configuration.
import { codedError } from '../errors';
import { FTB_EVENT_HANDLE_SIZE, FTB_PAYLOAD_SIZE } from '../ftb/types';

export const LAUNCHER_EVENT_SPACE = 'CRFTB.launcher.job';

export type Operation = 'checkpoint' | 'restart';

export const REQUEST_EVENT: Record<Operation, string> = {
  checkpoint: 'JOB_CHKPT_REQUEST',
  restart: 'JOB_RSTRT_REQUEST',
};
export const NODE_RESULT_EVENT: Record<Operation, { ok: string; error: string }> = {
  checkpoint: { ok: 'NODE_CHKPT_END', error: 'NODE_CHKPT_ERROR' },
  restart: { ok: 'NODE_RSTRT_END', error: 'NODE_RSTRT_ERROR' },
};
export const JOB_RESULT_EVENT: Record<Operation, { ok: string; error: string }> = {
  checkpoint: { ok: 'JOB_CHKPT_END', error: 'JOB_CHKPT_ERROR' },
  restart: { ok: 'JOB_RSTRT_END', error: 'JOB_RSTRT_ERROR' },
};

/**
 * The coordinator gave up on a request (its signal aborted, or its deadline passed): payload as a
 * job result (the request's handle, then ECANCELED or ETIMEDOUT). A node still working on that
 * request aborts it: its processes are left running (crftb's cancellation guarantee) and it answers
 * with the error. Anyone who reaches the agent could send one (FTB has no authentication); the
 * worst it does is leave a job running un-checkpointed.
 */
export const CANCEL_EVENT = 'JOB_CANCEL';

/**
 * A checkpoint is two-phase. Phase one: every node dumps its process trees and leaves them
 * stopped, its images set aside (not yet the checkpoint of that name), and answers
 * NODE_CHKPT_END or NODE_CHKPT_ERROR. Only when every node answered END does the coordinator
 * publish JOB_CHKPT_COMMIT (payload as a job result: the request's handle, errno 0): each node
 * makes its images the checkpoint, then kills or resumes its processes, and answers
 * NODE_COMMIT_END or NODE_COMMIT_ERROR. Otherwise the coordinator publishes JOB_CANCEL (with the
 * failing errno), and every node resumes its processes and drops the images set aside; a node
 * that hears no decision within its own bound does the same. The job is never lost by a node
 * that failed to dump.
 */
export const COMMIT_EVENT = 'JOB_CHKPT_COMMIT';
export const NODE_COMMIT_EVENT = { ok: 'NODE_COMMIT_END', error: 'NODE_COMMIT_ERROR' };

export const COORDINATOR_EVENTS = [
  { name: CANCEL_EVENT, severity: 'warning' },
  { name: COMMIT_EVENT, severity: 'info' },
  { name: REQUEST_EVENT.checkpoint, severity: 'info' },
  { name: REQUEST_EVENT.restart, severity: 'info' },
  { name: JOB_RESULT_EVENT.checkpoint.ok, severity: 'info' },
  { name: JOB_RESULT_EVENT.checkpoint.error, severity: 'error' },
  { name: JOB_RESULT_EVENT.restart.ok, severity: 'info' },
  { name: JOB_RESULT_EVENT.restart.error, severity: 'error' },
];
export const NODE_EVENTS = [
  { name: NODE_RESULT_EVENT.checkpoint.ok, severity: 'info' },
  { name: NODE_RESULT_EVENT.checkpoint.error, severity: 'error' },
  { name: NODE_RESULT_EVENT.restart.ok, severity: 'info' },
  { name: NODE_RESULT_EVENT.restart.error, severity: 'error' },
  { name: NODE_COMMIT_EVENT.ok, severity: 'info' },
  { name: NODE_COMMIT_EVENT.error, severity: 'error' },
];

/** What a request asks of the nodes. */
export interface JobRequest {
  op: Operation;
  /** The checkpoint's name: one path component (see checkCheckpointName), never a path. */
  name: string;
  /** The nodes that must answer (their FTB client names). */
  nodes: string[];
}

const CHECKPOINT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

/**
 * Throws EINVAL unless `name` is a checkpoint name: 1-64 of [A-Za-z0-9_.-], not starting with
 * a dot or dash, so it is one path component that cannot be `.`, `..`, hidden or an option.
 */
export function checkCheckpointName(name: unknown, what = 'checkpoint name'): string {
  if (typeof name !== 'string' || !CHECKPOINT_NAME.test(name)) {
    throw codedError(
      'EINVAL',
      `${what} must be 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-' (got ${JSON.stringify(name)}); it names a directory, never a path`,
    );
  }
  return name;
}

/** Request payload: compact JSON, NUL-padded to the 368 payload bytes. */
export function encodeRequest(request: JobRequest): Buffer {
  checkCheckpointName(request.name);
  const text = JSON.stringify({ c: request.name, n: request.nodes });
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > FTB_PAYLOAD_SIZE) {
    throw codedError(
      'ENAMETOOLONG',
      `the request does not fit an FTB payload (${bytes.length} > ${FTB_PAYLOAD_SIZE} bytes): use fewer or shorter node names`,
    );
  }
  const payload = Buffer.alloc(FTB_PAYLOAD_SIZE);
  bytes.copy(payload);
  return payload;
}

export function decodeRequest(op: Operation, payload: Buffer): JobRequest {
  const end = payload.indexOf(0);
  const text = payload.subarray(0, end < 0 ? payload.length : end).toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw codedError('EBADMSG', 'launcher request payload is not JSON');
  }
  const { c, n } = (parsed ?? {}) as { c?: unknown; n?: unknown };
  if (typeof c !== 'string' || !Array.isArray(n) || !n.every((x) => typeof x === 'string')) {
    throw codedError('EBADMSG', 'launcher request payload lacks a checkpoint name or node list');
  }
  return { op, name: checkCheckpointName(c, 'the requested checkpoint name'), nodes: n as string[] };
}

/** A node's answer: request handle, errno (0 on success), number of process trees handled. */
export interface NodeAnswer {
  requestHandle: Buffer;
  errno: number;
  trees: number;
}

export function encodeNodeAnswer(answer: NodeAnswer): Buffer {
  const payload = Buffer.alloc(FTB_PAYLOAD_SIZE);
  answer.requestHandle.copy(payload, 0, 0, FTB_EVENT_HANDLE_SIZE);
  payload.writeInt32LE(answer.errno, FTB_EVENT_HANDLE_SIZE);
  payload.writeUInt32LE(answer.trees, FTB_EVENT_HANDLE_SIZE + 4);
  return payload;
}

export function decodeNodeAnswer(payload: Buffer): NodeAnswer {
  return {
    requestHandle: Buffer.from(payload.subarray(0, FTB_EVENT_HANDLE_SIZE)),
    errno: payload.readInt32LE(FTB_EVENT_HANDLE_SIZE),
    trees: payload.readUInt32LE(FTB_EVENT_HANDLE_SIZE + 4),
  };
}

/** Job result payload: the request handle and an errno, exactly BLCR's ERROR layout. */
export function encodeJobResult(requestHandle: Buffer, errno: number): Buffer {
  const payload = Buffer.alloc(FTB_PAYLOAD_SIZE);
  requestHandle.copy(payload, 0, 0, FTB_EVENT_HANDLE_SIZE);
  payload.writeInt32LE(errno, FTB_EVENT_HANDLE_SIZE);
  return payload;
}
