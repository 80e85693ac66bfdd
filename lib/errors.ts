/**
 * Every failure crftb reports is an Error with a stable `code`: an errno name (`ENOENT`,
 * `ENOSYS`, ...) or an FTB return-code name (`FTB_ERR_INVALID_FIELD`, ...). `errno` is set when
 * the failure has a number: a positive errno, or FTB's negative return code.
 *
 * crftb's errors carry a brand, a registered symbol set here and by the addon
 * (native/common/error.cc), so `isCrftbError()` and `instanceof CrftbError` are true for errors
 * crftb made — thrown by JavaScript or by native code, from any copy of crftb in the process —
 * and false for any other error, even one with a `code` (an fs error, say).
 */
import os from 'node:os';

const brand = Symbol.for('crftb.error');

export class CrftbError extends Error {
  declare code: string;
  declare errno?: number;

  constructor(code: string, message: string, errno?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    if (errno !== undefined) this.errno = errno;
    Object.defineProperty(this, brand, { value: true });
  }

  /** Native errors are plain Errors with the brand: `instanceof` asks for the brand. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isCrftbError(value);
  }
}

export function isCrftbError(value: unknown): value is CrftbError {
  return value instanceof Error && (value as unknown as Record<symbol, unknown>)[brand] === true;
}

/**
 * Builds a coded error on the JS side, for failures detected before any native call. An errno
 * name gets its number unless one is given.
 */
export function codedError(code: string, message: string, errno?: number): CrftbError {
  const number = errno ?? (os.constants.errno as Record<string, number | undefined>)[code];
  return new CrftbError(code, message, number);
}
