// Command-line parsing and validation for every command, in one place: unknown options, missing
// values and bad values are UsageErrors naming the flag, raised before a command starts anything.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends OptionSpecs> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; allowPositionals: boolean; strict: true }>
>;

/** parseArgs in strict mode, its errors rewritten as UsageErrors that name the offending flag. */
export function parseCommand<O extends OptionSpecs>(args: string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    const e = error as { code?: string; message: string };
    const flag = /'(-[^' ]+)/.exec(e.message)?.[1];
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option '${flag ?? e.message}'`);
    if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(`unexpected argument: ${/'([^']*)'/.exec(e.message)?.[1] ?? e.message}`);
    if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
      throw new UsageError(
        /does not take an argument/.test(e.message) ? `${flag} takes no value` : `${flag} needs a value`,
      );
    }
    throw new UsageError(e.message);
  }
}

/** `--name N`: an integer within [min, max], or undefined when the flag was not given. */
export function integerOption(
  name: string,
  value: string | undefined,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return undefined;
  const n = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name} needs an integer, got '${value}'`);
  if (n < min || n > max) throw new UsageError(`--${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** A TCP or UDP port; 0 asks for any free one. */
export function portOption(name: string, value: string | undefined): number | undefined {
  return integerOption(name, value, 0, 65535);
}

/** `--name VALUE` where VALUE is one of `choices`. */
export function choiceOption<T extends string>(
  name: string,
  value: string | undefined,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** At most one of the given boolean flags; returns the one set, if any. */
export function exclusiveFlags(values: Record<string, unknown>, names: readonly string[]): string | undefined {
  const set = names.filter((n) => values[n]);
  if (set.length > 1)
    throw new UsageError(
      `${set.map((n) => `--${n}`).join(' and ')} cannot be combined: choose one of ${names.map((n) => `--${n}`).join(', ')}`,
    );
  return set[0];
}

/** "host:port" or "host" for `--name`; the port is checked and stays undefined when absent. */
export function hostPortOption(name: string, text: string | undefined): { host: string; port?: number } | undefined {
  if (text === undefined) return undefined;
  const at = text.lastIndexOf(':');
  if (at < 0) return { host: text };
  const host = text.slice(0, at);
  if (!host) throw new UsageError(`--${name} needs HOST[:PORT], got '${text}'`);
  return { host, port: portOption(name, text.slice(at + 1)) };
}
