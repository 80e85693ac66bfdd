// Argument checks of the public API. A wrong type or a value out of range is EINVAL naming the
// argument, as the addon's own option checks are, so a caller never gets a TypeError from deeper
// down (`Cannot read properties of undefined`) nor a silent coercion (a client name 42 as "42").
import { codedError } from './errors';

function invalid(what: string, rule: string, value: unknown): never {
  const got =
    typeof value === 'string' ? JSON.stringify(value) : typeof value === 'object' ? `${value}` : String(value);
  throw codedError('EINVAL', `${what} must be ${rule} (got ${got})`);
}

const isObject = (value: unknown): value is object =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A required options object. */
export function checkObject<T>(value: T, what: string): T {
  if (!isObject(value)) invalid(what, 'an object', value);
  return value;
}

/** An options object that may be left out: `{}` then. */
export function checkOptionalObject<T extends object>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) return {} as T;
  return checkObject(value, what);
}

export function checkFunction<T>(value: T, what: string): T {
  if (typeof value !== 'function') invalid(what, 'a function', value);
  return value;
}

export function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') invalid(what, 'a string', value);
  return value;
}

export function checkOptionalString(value: unknown, what: string): string | undefined {
  return value === undefined || value === null ? undefined : checkString(value, what);
}

/** An integer from min to max, or `fallback` when absent. */
export function checkInteger(value: unknown, what: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    invalid(what, `an integer from ${min} to ${max}`, value);
  return value;
}
