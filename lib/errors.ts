/**
 * Every failure crftb reports is an Error with a stable `code`: an errno name (`ENOENT`,
 * `ENOSYS`, ...) or an FTB return-code name (`FTB_ERR_INVALID_FIELD`, ...). `errno` is set when
 * the failure has a number: a positive errno, or FTB's negative return code.
 */
import os from 'node:os';

export interface CrftbError extends Error {
  code: string;
  errno?: number;
}

export function isCrftbError(value: unknown): value is CrftbError {
  return value instanceof Error && typeof (value as { code?: unknown }).code === 'string';
}

/**
 * Builds a coded error on the JS side, for failures detected before any native call. An errno
 * name gets its number unless one is given.
 */
export function codedError(code: string, message: string, errno?: number): CrftbError {
  const error = new Error(message) as CrftbError;
  error.code = code;
  const number = errno ?? (os.constants.errno as Record<string, number | undefined>)[code];
  if (number !== undefined) error.errno = number;
  return error;
}
