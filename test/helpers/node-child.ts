// A Node program run as a child of the test (`node -e`) against the built package (dist/), for
// behaviour that needs a process of its own: whether it exits by itself, crashes or hangs.
import { execFile } from 'node:child_process';
import path from 'node:path';

/** The built package's CommonJS entry, for `require()` in a child's script. */
export const dist = path.join(__dirname, '..', '..', 'dist', 'index.js');

export interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Trimmed. */
  stdout: string;
  stderr: string;
}

/** Runs `node [nodeArgs] -e script`; one still running after `timeoutMs` (a hang) is SIGTERMed. */
export function runNode(script: string, timeoutMs: number, nodeArgs: string[] = []): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...nodeArgs, '-e', script],
      { timeout: timeoutMs },
      (_error, stdout, stderr) =>
        resolve({ code: child.exitCode, signal: child.signalCode, stdout: stdout.trim(), stderr }),
    );
  });
}
