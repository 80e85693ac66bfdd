// Retrying a checkpoint or restart refused for a reason that passes by itself. Which failures
// those are is decided where they are recognised (native/cr: CRIU's log, the pids' states, the
// images lock) and said by one code, EAGAIN; this side only decides whether to ask again.
import { callbackError, codedError, type CrftbError } from '../errors';
import type { Interrupt } from '../abort';

/** The code of every failure that passes by itself: the same request may succeed if repeated. */
export const TRANSIENT = 'EAGAIN';

export interface RetryOptions {
  /** How many times a failure with code EAGAIN is retried (default 3; 0 to 100). */
  retries?: number;
  /** The wait before the first retry, growing by as much before each next one (default 100 ms; 0 to 60000). */
  delayMs?: number;
  /**
   * Called before each retry with the failure and the number of the retry (1, 2, ...). If it
   * throws, no retry is made: the call rejects ERR_CALLBACK_FAILED with its error as `cause`.
   */
  onRetry?: (error: CrftbError, retry: number) => void;
}

interface RetryPlan {
  retries: number;
  delayMs: number;
  onRetry?: RetryOptions['onRetry'];
}

function integer(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw codedError('EINVAL', `options.retry.${name} must be an integer from 0 to ${max}`);
  return value;
}

/** options.retry checked (EINVAL naming the field); no retries when it is absent. */
export function retryPlan(retry: RetryOptions | undefined): RetryPlan {
  if (retry === undefined || retry === null) return { retries: 0, delayMs: 0 };
  if (typeof retry !== 'object')
    throw codedError('EINVAL', 'options.retry must be an object { retries, delayMs, onRetry }');
  if (retry.onRetry !== undefined && typeof retry.onRetry !== 'function')
    throw codedError('EINVAL', 'options.retry.onRetry must be a function');
  return {
    retries: integer(retry.retries, 'retries', 3, 100),
    delayMs: integer(retry.delayMs, 'delayMs', 100, 60_000),
    onRetry: retry.onRetry,
  };
}

/**
 * Runs `attempt`, and again after a growing pause while it fails with EAGAIN, up to
 * `plan.retries` times. Never past the request's deadline or abort: a pause that would end after
 * the deadline is not begun (the last failure is reported), and an abort ends a pause at once.
 */
export async function withRetries<T>(plan: RetryPlan, interrupt: Interrupt, attempt: () => Promise<T>): Promise<T> {
  for (let retry = 1; ; ++retry) {
    try {
      return await attempt();
    } catch (error) {
      const e = error as CrftbError;
      if (e?.code !== TRANSIENT || plan.retries === 0) throw error;
      const pauseMs = plan.delayMs * retry;
      if (retry > plan.retries || pauseMs >= interrupt.remainingMs()) {
        e.message +=
          retry > plan.retries
            ? ` (after ${retry} attempts, options.retry.retries ${plan.retries})`
            : ` (after ${retry} attempts; no time left for another within timeoutMs)`;
        throw e;
      }
      try {
        plan.onRetry?.(e, retry);
      } catch (thrown) {
        // The caller's own hook failed: stop retrying and say so; the refusal stays in the message.
        throw callbackError(`options.retry.onRetry threw before retry ${retry} of a refusal (${e.message})`, thrown);
      }
      await interrupt.pause(pauseMs);
    }
  }
}
