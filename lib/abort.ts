// Deadlines and AbortSignals of every long call (checkpoint, restart, FTB connect, launcher jobs):
// the AbortError they reject with, shaped like Node's own (name AbortError, code ABORT_ERR, the
// signal's reason as cause), the check of a `signal` option, and Interrupt: a call's timeoutMs
// and signal, measured from when the call began, for the parts of a request that wait in
// JavaScript (critical sections, onCheckpoint callbacks, a connect) and handed on to the native
// request for the rest. The native side owns the rule for what an interrupted engine request
// leaves behind (native/cr/request.h); this side only stops waiting and hands the cancel over.
import { codedError, type CrftbError } from './errors';

export function abortError(signal: AbortSignal, what: string): CrftbError {
  return markAborted(codedError('ABORT_ERR', `the ${what} was aborted`), signal);
}

// Node's shape for an abort: the AbortError name and the signal's reason as cause.
function markAborted<E extends Error>(error: E, signal: AbortSignal): E {
  error.name = 'AbortError';
  (error as Error & { cause?: unknown }).cause = signal.reason;
  return error;
}

export function checkSignal(signal: unknown, name = 'options.signal'): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  if (!(signal instanceof AbortSignal)) throw codedError('EINVAL', `${name} must be an AbortSignal`);
  return signal;
}

/** An ABORT_ERR from the addon gets the AbortError name and the signal's reason, as Node's do. */
export function asAbortError(error: unknown, signal?: AbortSignal): unknown {
  if (signal && error instanceof Error && (error as CrftbError).code === 'ABORT_ERR') markAborted(error, signal);
  return error;
}

export class Interrupt {
  private readonly deadline: number | undefined;
  private readonly started = Date.now();

  constructor(
    private readonly timeoutMs: number | undefined,
    readonly signal: AbortSignal | undefined,
    private readonly what: string,
  ) {
    this.deadline = timeoutMs ? Date.now() + timeoutMs : undefined;
  }

  /** How much of timeoutMs has been used so far. */
  elapsedMs(): number {
    return Date.now() - this.started;
  }

  /** What is left of timeoutMs (Infinity without one). */
  remainingMs(): number {
    return this.deadline === undefined ? Infinity : this.deadline - Date.now();
  }

  /** Resolves after `ms`, or rejects with the interruption as soon as one happens. */
  pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return this.race(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))).finally(() =>
      clearTimeout(timer),
    );
  }

  /** Throws the interruption if one has happened. */
  check(): void {
    const interruption = this.interruption();
    if (interruption) throw interruption;
  }

  /** Settles like `work`, or rejects with the interruption first (`work` is then left alone). */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const interruption = this.interruption();
      if (interruption) {
        reject(interruption);
        return;
      }
      const timer =
        this.deadline === undefined ? undefined : setTimeout(() => reject(this.timedOut()), this.deadline - Date.now());
      const onAbort = () => reject(abortError(this.signal!, this.what));
      this.signal?.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => {
        if (timer) clearTimeout(timer);
        this.signal?.removeEventListener('abort', onAbort);
      });
    });
  }

  /** true once the deadline has passed or the signal has aborted. */
  happened(): boolean {
    return this.interruption() !== null;
  }

  /** Calls `cancel` when the signal aborts; returns the function that stops listening. */
  onAbort(cancel: () => void): () => void {
    if (!this.signal) return () => undefined;
    this.signal.addEventListener('abort', cancel, { once: true });
    return () => this.signal!.removeEventListener('abort', cancel);
  }

  // The error of the interruption that has happened, or null.
  private interruption(): CrftbError | null {
    if (this.signal?.aborted) return abortError(this.signal, this.what);
    if (this.deadline !== undefined && Date.now() >= this.deadline) return this.timedOut();
    return null;
  }

  private timedOut(): CrftbError {
    return codedError('ETIMEDOUT', `the ${this.what} did not finish within ${this.timeoutMs} ms (timeoutMs)`);
  }
}
