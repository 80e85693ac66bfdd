// A long call's deadline (timeoutMs) and AbortSignal, measured from when the call began, for the
// parts of a request that run in JavaScript (waiting for critical sections and onCheckpoint
// callbacks) and handed on to the native request for the rest. The native side owns the rule for
// what an interrupted engine request leaves behind (native/cr/request.h); this side only stops
// waiting and hands the cancel over.
import { abortError } from '../abort';
import { codedError, CrftbError } from '../errors';

export { abortError, checkSignal } from '../abort';

/** An ABORT_ERR from the addon gets the AbortError name and the signal's reason, as Node's do. */
export function asAbortError(error: unknown, signal?: AbortSignal): unknown {
  if (signal && error instanceof Error && (error as CrftbError).code === 'ABORT_ERR') {
    error.name = 'AbortError';
    (error as Error & { cause?: unknown }).cause = signal.reason;
  }
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

  /** Throws the interruption if one has happened. */
  check(): void {
    if (this.signal?.aborted) throw abortError(this.signal, this.what);
    if (this.deadline !== undefined && Date.now() >= this.deadline) throw this.timedOut();
  }

  /** Settles like `work`, or rejects with the interruption first (`work` is then left alone). */
  race<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        this.check();
      } catch (error) {
        reject(error);
        return;
      }
      const timer = this.deadline === undefined ? undefined : setTimeout(() => reject(this.timedOut()), this.deadline - Date.now());
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
    return Boolean(this.signal?.aborted) || (this.deadline !== undefined && Date.now() >= this.deadline);
  }

  /** Calls `cancel` when the signal aborts; returns the function that stops listening. */
  onAbort(cancel: () => void): () => void {
    if (!this.signal) return () => undefined;
    this.signal.addEventListener('abort', cancel, { once: true });
    return () => this.signal!.removeEventListener('abort', cancel);
  }

  private timedOut(): CrftbError {
    return codedError('ETIMEDOUT', `the ${this.what} did not finish within ${this.timeoutMs} ms (timeoutMs)`);
  }
}
