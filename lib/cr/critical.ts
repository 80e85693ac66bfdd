// libcr's critical sections and callbacks, for checkpoints that include this process.
//
// criticalSection(fn): a checkpoint of this process waits until every running fn has settled,
// and a criticalSection started while such a checkpoint is pending waits for it to finish
// (cr_enter_cs / cr_leave_cs).
//
// onCheckpoint(cb): before a checkpoint of this process, callbacks run in reverse registration
// order (libcr's LIFO). Each is handed `ctx.checkpoint()`, libcr's cr_checkpoint(): a callback
// does its "before" work, then awaits ctx.checkpoint(), which resolves with { restarted } once the
// checkpoint is done - in the original with restarted: false, in the restored copy with true -
// and then does its "after" work. The checkpoint starts once every callback has called
// ctx.checkpoint() (or settled without calling it); "after" parts run innermost first, like
// nested cr_checkpoint() calls.

import type { Interrupt } from '../abort';
import { checkFunction } from '../check';
import { callbackError } from '../errors';

export interface CheckpointOutcome {
  restarted: boolean;
}

export interface CheckpointContext {
  /** Waits for the checkpoint; resolves { restarted } afterwards (libcr's cr_checkpoint()). */
  checkpoint(): Promise<CheckpointOutcome>;
}

export type CheckpointCallback = (ctx: CheckpointContext) => unknown;

const callbacks: CheckpointCallback[] = [];
let active = 0;
const idle: Array<() => void> = [];
let pending: Promise<void> | null = null;

/** Registers a callback; returns a function that unregisters it. */
export function onCheckpoint(cb: CheckpointCallback): () => void {
  checkFunction(cb, 'onCheckpoint(cb): cb');
  callbacks.push(cb);
  return () => {
    const i = callbacks.indexOf(cb);
    if (i >= 0) callbacks.splice(i, 1);
  };
}

/** Runs fn so that no checkpoint of this process happens while it runs. */
export async function criticalSection<T>(fn: () => T | Promise<T>): Promise<T> {
  checkFunction(fn, 'criticalSection(fn): fn');
  while (pending) await pending.catch(() => undefined);
  active += 1;
  try {
    return await fn();
  } finally {
    active -= 1;
    if (active === 0) for (const wake of idle.splice(0)) wake();
  }
}

// One callback's part in a checkpoint: how to hand it the outcome, and its settling.
interface Participant {
  resume(outcome: CheckpointOutcome | Error): void;
  /** Resolves with the callback's error if it threw or rejected, else undefined. */
  finished: Promise<{ error: unknown } | undefined>;
  /** Resolves once it has called ctx.checkpoint() (true) or settled without calling it (false). */
  ready: Promise<boolean>;
}

function start(cb: CheckpointCallback): Participant {
  let reached = false;
  let reach!: () => void;
  const atCheckpoint = new Promise<void>((resolve) => (reach = resolve));
  let resume!: (o: CheckpointOutcome | Error) => void;
  const outcome = new Promise<CheckpointOutcome>((resolve, reject) => {
    resume = (o) => (o instanceof Error ? reject(o) : resolve(o));
  });
  outcome.catch(() => undefined);
  const ctx: CheckpointContext = {
    checkpoint() {
      reached = true;
      reach();
      return outcome;
    },
  };
  const finished = Promise.resolve()
    .then(() => cb(ctx))
    .then(
      () => undefined,
      (error: unknown) => ({ error }),
    );
  return { resume, finished, ready: Promise.race([atCheckpoint, finished]).then(() => reached) };
}

/**
 * Runs `dump` as a checkpoint of this process: after critical sections drain and callbacks
 * reach their checkpoint point; then tells the callbacks the outcome. `interrupt` (the request's
 * timeoutMs and signal) covers the waits: a critical section that never ends or a callback that
 * never reaches its checkpoint makes the call reject at the deadline with nothing dumped, and the
 * callbacks that are waiting in ctx.checkpoint() get the same error. In the original, a
 * callback's "after" part that is still running at the deadline makes the call reject too (the
 * checkpoint itself is then committed, and the error says so).
 *
 * A callback that throws or rejects is never ignored: before it called ctx.checkpoint() it
 * cancels the checkpoint (nothing is dumped; ERR_CALLBACK_FAILED with its error as cause, which
 * the callbacks waiting in ctx.checkpoint() get too); after, once every "after" part has run,
 * the call rejects ERR_CALLBACK_FAILED with committed: true, since the images are good and the
 * caller has to learn that its own "after" work failed, in the original and in a restored copy.
 */
export async function runSelfCheckpoint<R extends CheckpointOutcome & { path?: string; generation?: string }>(
  dump: () => Promise<R>,
  interrupt?: Interrupt,
): Promise<R> {
  const wait = <T>(work: Promise<T>): Promise<T> => (interrupt ? interrupt.race(work) : work);
  while (pending) await wait(pending.catch(() => undefined));
  let release!: () => void;
  pending = new Promise<void>((resolve) => (release = resolve));
  const participants: Participant[] = [];
  // Tells the callbacks that reached their checkpoint point that it failed, innermost first, and
  // lets their "after" parts run (what they throw then is not reported: `error` is).
  const unwind = async (error: Error) => {
    for (let i = participants.length - 1; i >= 0; i -= 1) {
      participants[i].resume(error);
      await wait(participants[i].finished).catch(() => undefined);
    }
  };
  try {
    if (active > 0) await wait(new Promise<void>((resolve) => idle.push(resolve)));
    for (const cb of callbacks.slice().reverse()) {
      const participant = start(cb);
      participants.push(participant);
      if (await wait(participant.ready)) continue;
      const failed = await participant.finished;
      if (!failed) continue;
      const error = callbackError(
        'an onCheckpoint callback failed before the checkpoint, so it was cancelled and nothing was dumped',
        failed.error,
      );
      await unwind(error);
      throw error;
    }
    let result: R;
    try {
      result = await dump();
    } catch (error) {
      await unwind(error as Error); // the dump's error is the one to report
      throw error;
    }
    // The request completed (the addon had seen no interrupt by its end), so only an interrupt
    // that comes while "after" parts run makes the call reject; in a restored copy the clock has
    // jumped past any deadline, so its "after" parts are not timed.
    const timed = !result.restarted && interrupt !== undefined && !interrupt.happened();
    const after = <T>(work: Promise<T>): Promise<T> => (timed ? wait(work) : work);
    const outcome = { restarted: result.restarted };
    const committed = {
      committed: true,
      restarted: result.restarted,
      path: result.path,
      generation: result.generation,
    };
    const errors: unknown[] = [];
    for (let i = participants.length - 1; i >= 0; i -= 1) {
      participants[i].resume(outcome);
      const failed = await after(participants[i].finished).catch((error: Error) => {
        Object.assign(error, committed);
        error.message += ' (in the onCheckpoint callbacks after the checkpoint, which was committed)';
        throw error;
      });
      if (failed) errors.push(failed.error);
    }
    if (errors.length > 0) {
      const error = callbackError(
        `${errors.length === 1 ? 'an onCheckpoint callback' : `${errors.length} onCheckpoint callbacks`} failed after the checkpoint, which was committed (${result.path}${result.restarted ? '; this is the restored copy' : ''})`,
        errors.length === 1 ? errors[0] : new AggregateError(errors, 'onCheckpoint callbacks failed'),
      );
      throw Object.assign(error, committed, { result });
    }
    return result;
  } catch (error) {
    // Interrupted: whoever waits in ctx.checkpoint() learns it (a settled outcome stays as it is).
    for (let i = participants.length - 1; i >= 0; i -= 1) participants[i].resume(error as Error);
    throw error;
  } finally {
    pending = null;
    release();
  }
}
