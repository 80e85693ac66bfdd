/** One CLI sub-command. Exit codes: 0 success, 1 the operation failed, 2 usage error. */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * A command line that cannot be run as given. Thrown by argument parsing and validation, before
 * anything is started; main() turns it into exit code 2. The message names the flag.
 */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** Whether the command line asked for JSON output: failures then go to stdout as JSON too. */
export function wantsJson(args: string[]): boolean {
  return args.includes('--json');
}

/**
 * The one way the CLI reports a failure: `crftb: CODE: message` on stderr, or under --json
 * `{"error":{"code":…,"message":…}}` on stdout, so a program reading stdout sees every outcome.
 */
export function printError(error: unknown, json = false, prefix = 'crftb'): void {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  else process.stderr.write(`${prefix}: ${code === 'ERROR' ? '' : `${code}: `}${message}\n`);
}
