// AbortSignal handling shared by every long call (checkpoint, restart, FTB connect, launcher
// jobs): the AbortError they reject with, shaped like Node's own (name AbortError, code
// ABORT_ERR, the signal's reason as cause), and the check of a `signal` option.
import { codedError, CrftbError } from './errors';

export function abortError(signal: AbortSignal, what: string): CrftbError {
  const error = codedError('ABORT_ERR', `the ${what} was aborted`);
  error.name = 'AbortError';
  (error as Error & { cause?: unknown }).cause = signal.reason;
  return error;
}

export function checkSignal(signal: unknown, name = 'options.signal'): AbortSignal | undefined {
  if (signal === undefined || signal === null) return undefined;
  if (!(signal instanceof AbortSignal)) throw codedError('EINVAL', `${name} must be an AbortSignal`);
  return signal;
}
