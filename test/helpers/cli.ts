// Runs `crftb <args>` from this checkout as a child of the test (stdout and stderr collected, and
// written to <work>/cli.out when it exits), for tests that signal the CLI while it works.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { holdMidDump } from './hold';
import { waitFor } from './wait';

const bin = path.join(__dirname, '..', '..', 'bin', 'crftb.js');

export function runCli(args: string[], work: string, env: NodeJS.ProcessEnv = {}) {
  const out = path.join(work, 'cli.out');
  const child = spawn(process.execPath, [bin, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (resolve) =>
      child.on('exit', (code, signal) => {
        fs.writeFileSync(out, stdout + stderr);
        resolve({ code, signal, stdout, stderr });
      }),
  );
  return { child, exited, stderr: () => stderr };
}

/**
 * Ctrl-C (or another `signal` the CLI handles the same way) for a `crftb checkpoint` CLI (`cli`)
 * while its dump of `target` is held: the engine is let go once the CLI says it waits for it.
 * Resolves with how the CLI exited.
 */
export async function interruptMidDump(
  t: Test,
  cli: ReturnType<typeof runCli>,
  target: number,
  signal: NodeJS.Signals = 'SIGINT',
) {
  const engine = await holdMidDump(target, cli.child.pid!, cli.exited);
  cli.child.kill(signal);
  await waitFor('the CLI to give the request up and wait for the engine', () =>
    /waiting for the engine to finish/.test(cli.stderr()),
  );
  t.ok(engine.held(), 'the request was given up while the dump was still being written');
  engine.release();
  return cli.exited;
}
