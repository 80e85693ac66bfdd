/**
 * The one place that gives crftb's errors their shape — for errors made in JavaScript and, through
 * the factory lib/native.ts registers with the addon, for errors made in native code.
 *
 * Every failure crftb reports is a `CrftbError` with a stable `code`, following Node's
 * `SystemError` conventions:
 * - a system error (`code` is a Linux errno name: `ENOENT`, `EADDRINUSE`, `EBADE`, ...) has
 *   `errno` set, negative as Node's are (`-2` for `ENOENT`), so `util.getSystemErrorName(errno)`
 *   gives `code` for every name libuv knows; `syscall` and `path` when crftb knows them;
 * - any other code (`FTB_ERR_*`, BLCR's `CR_E*`, `ABORT_ERR`) has no `errno`: the number its own
 *   library gives it (FTB's negative return code, BLCR's errno) is `codeNumber`;
 * - a failure that follows from another has it as `cause` (itself shaped by these rules);
 * - a callback the caller gave crftb that throws or rejects (`onCheckpoint`, `retry.onRetry`) is
 *   `ERR_CALLBACK_FAILED` with the callback's own error, untouched, as `cause`.
 *
 * crftb's errors carry a brand, a registered symbol, so `isCrftbError()` and `instanceof
 * CrftbError` are true for errors crftb made — from any copy of crftb in the process — and false
 * for any other error, even one with a `code` (an fs error, say).
 */
import os from 'node:os';

const brand = Symbol.for('crftb.error');

const errnoNumbers = os.constants.errno as Record<string, number | undefined>;

/** The facts a CrftbError is made from; all optional. */
export interface CrftbErrorOptions {
  /**
   * The number that goes with `code`: a system errno as C gives it (positive; `errno` becomes its
   * negative), or the code's number in the library that defines it (becomes `codeNumber`). A
   * system error without one gets the number of its name.
   */
  number?: number;
  /** The system call that failed (`'bind'`, `'open'`). */
  syscall?: string;
  /** The file the failure is about. */
  path?: string;
  /** The failure this one follows from. */
  cause?: unknown;
}

/** Linux errno names (E2BIG, ENOENT, EL2NSYNC; E<number> for one without a name). */
function isSystemErrorCode(code: string): boolean {
  return /^E[A-Z0-9]+$/.test(code);
}

export class CrftbError extends Error {
  declare code: string;
  /** Negative system errno (`-2` for ENOENT); only on system errors. */
  declare errno?: number;
  /** The number of a code that is not a system error, as its library gives it (FTB: -9). */
  declare codeNumber?: number;
  declare syscall?: string;
  declare path?: string;

  constructor(code: string, message: string, options: CrftbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // A code is what callers switch on: an error without one would break the rule it exists for.
    if (typeof code !== 'string' || code === '')
      throw new CrftbError('EINVAL', `a CrftbError needs a code string, not ${String(code)}`);
    this.code = code;
    const { number } = options;
    if (isSystemErrorCode(code)) {
      const magnitude = Math.abs(number || errnoNumbers[code] || Number(code.slice(1)) || 0);
      if (magnitude !== 0) this.errno = -magnitude;
    } else if (number) {
      this.codeNumber = number;
    }
    if (options.syscall) this.syscall = options.syscall;
    if (options.path) this.path = options.path;
    Object.defineProperty(this, brand, { value: true });
  }

  /** Errors from another copy of crftb are other classes with the brand: `instanceof` asks for it. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isCrftbError(value);
  }
}

export function isCrftbError(value: unknown): value is CrftbError {
  return value instanceof Error && (value as unknown as Record<symbol, unknown>)[brand] === true;
}

/**
 * Builds a coded error on the JS side, for failures detected before any native call. `number` as
 * in CrftbErrorOptions.
 */
export function codedError(code: string, message: string, number?: number): CrftbError {
  return new CrftbError(code, message, { number });
}

/** The code of a failure of a callback the caller gave crftb; the callback's error is `cause`. */
export const CALLBACK_FAILED = 'ERR_CALLBACK_FAILED';

/** A callback's error wrapped so that the caller sees a coded error and still gets the original. */
export function callbackError(what: string, cause: unknown): CrftbError {
  const said = cause instanceof Error ? cause.message : String(cause);
  return new CrftbError(CALLBACK_FAILED, `${what}: ${said}`, { cause });
}
