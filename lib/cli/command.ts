/** One CLI sub-command. Exit codes: 0 success, 1 the operation failed, 2 usage error. */
export interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export function wantsHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

export function printError(error: unknown): void {
  const e = error as { code?: string; message?: string };
  process.stderr.write(`crftb: ${e.code ? `${e.code}: ` : ''}${e.message ?? String(error)}\n`);
}

/** Placeholder for a command whose subsystem has not landed yet. */
export function notYet(name: string): Command {
  return {
    summary: '(not available in this build)',
    usage: `Usage: crftb ${name}\n\nNot available in this build.`,
    async run() {
      printError({ code: 'ENOSYS', message: `'${name}' is not available in this build of crftb` });
      return EXIT_FAILED;
    },
  };
}
