// Runs `crftb <command> --json` as a real child process (optionally inside a network namespace)
// and follows its JSON lines, so tests wait for readiness and tree changes without sleeping.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

const bin = path.join(__dirname, '..', '..', 'bin', 'crftb.js');

export type Line = Record<string, any> & { event: string };

export class CrftbProcess {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  stderr = '';
  private waiters: (() => void)[] = [];
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess) {
    this.child = child;
    readline.createInterface({ input: child.stdout! }).on('line', (text) => {
      try {
        this.lines.push(JSON.parse(text));
      } catch {
        this.lines.push({ event: 'text', text });
      }
      this.wake();
    });
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        resolve({ code, signal });
        this.wake();
      }),
    );
  }

  /** Starts `crftb <args> --json`; with `netns`, inside that network namespace. */
  static start(args: string[], options: { netns?: string; env?: NodeJS.ProcessEnv } = {}): CrftbProcess {
    const argv = [bin, ...args, '--json'];
    const child = options.netns
      ? spawn('ip', ['netns', 'exec', options.netns, process.execPath, ...argv], {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: options.env,
        })
      : spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env });
    return new CrftbProcess(child);
  }

  /**
   * Starts a TypeScript fixture (test/fixtures/NAME.ts) as a child process with tap's TypeScript
   * loader, optionally inside a network namespace; stdin stays open for commands.
   */
  static fixture(name: string, args: string[], options: { netns?: string; netOnly?: boolean } = {}): CrftbProcess {
    const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
    const argv = [...loader, path.join(__dirname, '..', 'fixtures', `${name}.ts`), ...args];
    // netOnly: enter the network namespace alone (nsenter --net). `ip netns exec` also makes a
    // mount namespace, and a CRIU run from there would see its targets' mounts as foreign.
    const enter = !options.netns
      ? null
      : options.netOnly
        ? ['nsenter', `--net=/run/netns/${options.netns}`]
        : ['ip', 'netns', 'exec', options.netns];
    const child = enter
      ? spawn(enter[0], [...enter.slice(1), process.execPath, ...argv], { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    return new CrftbProcess(child);
  }

  /** Writes one JSON command line to the child's stdin (fixtures). */
  command(value: unknown): void {
    this.child.stdin!.write(`${JSON.stringify(value)}\n`);
  }

  /**
   * The first line (from `from` on) that satisfies `match`; rejects after `timeoutMs` or at exit.
   * The default allows for a TypeScript fixture starting under tap's loader on a busy machine.
   */
  async waitFor(match: (line: Line) => boolean, timeoutMs = 30000, from = 0): Promise<Line> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`process exited before the expected line; stderr: ${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; lines so far: ${JSON.stringify(this.lines)} stderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async listening(): Promise<{ host: string; port: number; advertise?: string }> {
    return (await this.waitFor((l) => l.event === 'listening')).address;
  }

  signal(signal: NodeJS.Signals): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Resolves with how the process ended, without signalling it. */
  exit() {
    return this.exited;
  }

  /** Sends `signal` and resolves with how the process ended. */
  async stop(signal: NodeJS.Signals = 'SIGTERM') {
    this.signal(signal);
    return this.exited;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
