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
  if (typeof cb !== 'function') throw new TypeError('onCheckpoint needs a function');
  callbacks.push(cb);
  return () => {
    const i = callbacks.indexOf(cb);
    if (i >= 0) callbacks.splice(i, 1);
  };
}

/** Runs fn so that no checkpoint of this process happens while it runs. */
export async function criticalSection<T>(fn: () => T | Promise<T>): Promise<T> {
  while (pending) await pending.catch(() => undefined);
  active += 1;
  try {
    return await fn();
  } finally {
    active -= 1;
    if (active === 0) for (const wake of idle.splice(0)) wake();
  }
}

/**
 * Runs `dump` as a checkpoint of this process: after critical sections drain and callbacks
 * reach their checkpoint point; then tells the callbacks the outcome. `interrupt` (the request's
 * timeoutMs and signal) covers the waits: a critical section that never ends or a callback that
 * never reaches its checkpoint makes the call reject at the deadline with nothing dumped, and the
 * callbacks that are waiting in ctx.checkpoint() get the same error. In the original, a
 * callback's "after" part that is still running at the deadline makes the call reject too (the
 * checkpoint itself is then committed, and the error says so).
 */
export async function runSelfCheckpoint<R extends CheckpointOutcome>(
  dump: () => Promise<R>,
  interrupt?: Interrupt,
): Promise<R> {
  const wait = <T>(work: Promise<T>): Promise<T> => (interrupt ? interrupt.race(work) : work);
  while (pending) await wait(pending.catch(() => undefined));
  let release!: () => void;
  pending = new Promise<void>((resolve) => (release = resolve));
  const resumes: Array<(o: CheckpointOutcome | Error) => void> = [];
  try {
    if (active > 0) await wait(new Promise<void>((resolve) => idle.push(resolve)));
    const order = callbacks.slice().reverse();
    const finished: Promise<unknown>[] = [];
    for (const cb of order) {
      let reached!: () => void;
      const atCheckpoint = new Promise<void>((resolve) => (reached = resolve));
      let resume!: (o: CheckpointOutcome | Error) => void;
      const outcome = new Promise<CheckpointOutcome>((resolve, reject) => {
        resume = (o) => (o instanceof Error ? reject(o) : resolve(o));
      });
      outcome.catch(() => undefined);
      resumes.push(resume);
      const ctx: CheckpointContext = {
        checkpoint() {
          reached();
          return outcome;
        },
      };
      const done = Promise.resolve().then(() => cb(ctx));
      finished.push(done.catch(() => undefined));
      await wait(
        Promise.race([
          atCheckpoint,
          done.then(
            () => undefined,
            () => undefined,
          ),
        ]),
      );
    }
    let result: R;
    try {
      result = await dump();
    } catch (error) {
      for (let i = resumes.length - 1; i >= 0; i -= 1) {
        resumes[i](error as Error);
        await wait(finished[i]).catch(() => undefined); // the dump's error is the one to report
      }
      throw error;
    }
    // The request completed (the addon had seen no interrupt by its end), so only an interrupt
    // that comes while "after" parts run makes the call reject; in a restored copy the clock has
    // jumped past any deadline, so its "after" parts are not timed.
    const timed = !result.restarted && interrupt !== undefined && !interrupt.happened();
    const after = <T>(work: Promise<T>): Promise<T> => (timed ? wait(work) : work);
    const outcome = { restarted: result.restarted };
    for (let i = finished.length - 1; i >= 0; i -= 1) {
      resumes[i](outcome);
      await after(finished[i]).catch((error: Error) => {
        Object.assign(error, { committed: true, path: (result as { path?: string }).path });
        error.message += ' (in the onCheckpoint callbacks after the checkpoint, which was committed)';
        throw error;
      });
    }
    return result;
  } catch (error) {
    // Interrupted: whoever waits in ctx.checkpoint() learns it (a settled outcome stays as it is).
    for (let i = resumes.length - 1; i >= 0; i -= 1) resumes[i](error as Error);
    throw error;
  } finally {
    pending = null;
    release();
  }
}
