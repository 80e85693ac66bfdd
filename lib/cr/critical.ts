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
let idle: Array<() => void> = [];
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
 * reach their checkpoint point; then tells the callbacks the outcome.
 */
export async function runSelfCheckpoint<R extends CheckpointOutcome>(dump: () => Promise<R>): Promise<R> {
  while (pending) await pending.catch(() => undefined);
  let release!: () => void;
  pending = new Promise<void>((resolve) => (release = resolve));
  try {
    if (active > 0) await new Promise<void>((resolve) => idle.push(resolve));
    const order = callbacks.slice().reverse();
    const resumes: Array<(o: CheckpointOutcome | Error) => void> = [];
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
      await Promise.race([atCheckpoint, done.then(() => undefined, () => undefined)]);
    }
    let result: R;
    try {
      result = await dump();
    } catch (error) {
      for (let i = resumes.length - 1; i >= 0; i -= 1) {
        resumes[i](error as Error);
        await finished[i];
      }
      throw error;
    }
    for (let i = resumes.length - 1; i >= 0; i -= 1) {
      resumes[i]({ restarted: result.restarted });
      await finished[i];
    }
    return result;
  } finally {
    pending = null;
    release();
  }
}
