// `crftb demo`: the whole product in one run, on loopback, cleaning up after itself.
// An embedded bootstrap server and agent, an event log, and an app that checkpoints itself, is
// killed, and is restarted; plus one failed checkpoint and one failed restart so all six BLCR
// events appear. Exit code 0 only when all six were seen and the counter continued.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Command, EXIT_FAILED, EXIT_OK } from '../command';
import { parseCommand } from '../args';
import { checkpoint, restart } from '../../cr';
import { startAgent } from '../../ftb/agent';
import { startBootstrap } from '../../ftb/bootstrap';
import { FtbClient, type FtbReceivedEvent } from '../../ftb/client';

const SIX = ['CHKPT_BEGIN', 'CHKPT_END', 'CHKPT_ERROR', 'RSTRT_BEGIN', 'RSTRT_END', 'RSTRT_ERROR'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function out(prefix: string, line: string): void {
  process.stdout.write(`${prefix.padEnd(7)}│ ${line}\n`);
}

/** Follows the app's output file (the app's stdout survives its checkpoint and restart). */
class LogFollower {
  private offset = 0;
  readonly lines: string[] = [];
  constructor(private readonly file: string) {}
  poll(): void {
    const text = readFileSync(this.file, 'utf8');
    const fresh = text.slice(this.offset);
    const end = fresh.lastIndexOf('\n');
    if (end < 0) return;
    this.offset += end + 1;
    for (const line of fresh.slice(0, end).split('\n')) {
      this.lines.push(line);
      out('app', line);
    }
  }
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.poll();
      const hit = this.lines.find((l) => pattern.test(l));
      if (hit) return hit;
      if (Date.now() > deadline)
        throw Object.assign(new Error(`the demo app did not print ${pattern} in time`), { code: 'ETIMEDOUT' });
      await sleep(50);
    }
  }
  ticksAfter(index: number): number[] {
    return this.lines.slice(index).flatMap((l) => {
      const m = /^tick (\d+)$/.exec(l);
      return m ? [Number(m[1])] : [];
    });
  }
}

function describe(event: FtbReceivedEvent): string {
  const errno = event.name.endsWith('_ERROR') ? ` errno=${event.payload.readInt32LE(360)}` : '';
  const answers = event.eventType === 2 ? ` answers seq ${event.payload.readUInt16LE(258)}` : '';
  return `${event.name.padEnd(11)} ${event.severity.padEnd(5)} type ${event.eventType} seq ${event.seqnum} from pid ${event.sourcePid}${answers}${errno}`;
}

async function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((r) => child.once('exit', r));
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(25);
  }
}

export const demo: Command = {
  summary: 'Run the end-to-end demo: FTB backplane, checkpoint, kill, restart (loopback only)',
  usage:
    'Usage: crftb demo [--keep]\n\nStarts a bootstrap server and an agent on 127.0.0.1, an event log, and a small Node app\n' +
    'that checkpoints itself, is killed and is restarted from its images. Shows the six BLCR\n' +
    'events and the app counting on across the restart, then stops everything it started.\n' +
    '  --keep   keep the work directory (images and app log) instead of deleting it\n' +
    'Exit code 0 when all six events were seen and the restored app continued.',
  async run(args) {
    const keep = Boolean(parseCommand(args, { keep: { type: 'boolean' } }).values.keep);
    const work = mkdtempSync(path.join(os.tmpdir(), 'crftb-demo-'));
    const images = path.join(work, 'images');
    const appLog = path.join(work, 'app.log');
    const seen = new Map<string, number>();
    const cleanups: (() => Promise<void> | void)[] = [];
    let restoredPid = 0;
    try {
      const bootstrap = await startBootstrap({ host: '127.0.0.1', port: 0 });
      cleanups.push(() => bootstrap.close());
      const agent = await startAgent({
        host: '127.0.0.1',
        port: 0,
        advertiseAddress: '127.0.0.1',
        bootstrapServer: '127.0.0.1',
        bootstrapPort: bootstrap.address.port,
      });
      cleanups.push(() => agent.close());
      await agent.attached();
      const agentPort = agent.address.port;
      out('crftb', `bootstrap server on udp 127.0.0.1:${bootstrap.address.port}, agent on tcp 127.0.0.1:${agentPort}`);

      const log = await FtbClient.connect(
        { eventSpace: 'CRFTB.demo.eventlog', clientName: 'eventlog', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
        { agentHost: '127.0.0.1', agentPort },
      );
      cleanups.push(() => log.close());
      log.subscribe('event_space=FTB.checkpoint_sw.blcr').on('event', (event: FtbReceivedEvent) => {
        seen.set(event.name, (seen.get(event.name) ?? 0) + 1);
        out('events', describe(event));
      });
      const ftb = { agentHost: '127.0.0.1', agentPort };

      // The app is its own session leader with stdio on a file: what a checkpoint needs.
      const fd = openSync(appLog, 'a');
      const appPath = path.join(__dirname, '..', '..', 'demo', 'app.js');
      const app = spawn(process.execPath, [appPath, images, String(agentPort), '5'], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, UV_USE_IO_URING: '0' },
      });
      closeSync(fd);
      cleanups.push(() => {
        if (app.exitCode === null && app.signalCode === null) app.kill('SIGKILL');
      });
      const follower = new LogFollower(appLog);
      // Killed only once the original has counted two ticks past its checkpoint, so the restored
      // copy provably resumes from older memory than the original reached.
      const checkpointed = await follower.waitFor(/^checkpointed at tick \d+/, 60_000);
      const atCheckpoint = Number(/tick (\d+)/.exec(checkpointed)![1]);
      await follower.waitFor(new RegExp(`^tick ${Math.max(8, atCheckpoint + 2)}$`), 10_000);

      const lastBeforeKill = Math.max(...follower.ticksAfter(0));
      out('crftb', `killing the app (pid ${app.pid}) with SIGKILL`);
      app.kill('SIGKILL');
      await waitExit(app);

      out('crftb', 'a checkpoint of the dead pid fails (CHKPT_ERROR):');
      await checkpoint({ target: app.pid, scope: 'process', dir: path.join(work, 'never'), ftb }).then(
        () => out('crftb', 'unexpected: checkpoint of a dead process succeeded'),
        (error: { code: string }) => out('crftb', `  rejected with ${error.code}`),
      );
      out('crftb', 'a restart from a directory with no images fails (RSTRT_ERROR):');
      await restart({ dir: path.join(work, 'missing'), ftb }).then(
        () => out('crftb', 'unexpected: restart without images succeeded'),
        (error: { code: string }) => out('crftb', `  rejected with ${error.code}`),
      );

      out('crftb', `restarting the app from ${images}`);
      const before = follower.lines.length;
      restoredPid = await restart({ dir: images, ftb });
      cleanups.push(async () => {
        try {
          process.kill(restoredPid, 'SIGKILL');
        } catch {
          /* already gone */
        }
        await waitGone(restoredPid);
      });
      await follower.waitFor(/^restored from the checkpoint/, 30_000);
      for (let i = 0; i < 40 && follower.ticksAfter(before).length < 3; i++) await sleep(100);
      follower.poll();
      await sleep(300);

      // The restored copy counts on from its image: it neither starts again at 1 nor knows the
      // ticks the killed original printed after the checkpoint.
      const resumed = follower.ticksAfter(before);
      const consecutive = resumed.every((n, i) => i === 0 || n === resumed[i - 1] + 1);
      const continued = resumed.length >= 3 && consecutive && resumed[0] >= 5 && resumed[0] <= lastBeforeKill;
      out(
        'crftb',
        `restored pid ${restoredPid}; its counter went on at tick ${resumed[0] ?? '?'} (checkpoint requested at tick 5, original killed at tick ${lastBeforeKill})`,
      );
      const missing = SIX.filter((n) => !seen.has(n));
      out(
        'crftb',
        missing.length === 0 ? 'all six BLCR events were published and seen' : `events not seen: ${missing.join(', ')}`,
      );
      return missing.length === 0 && continued ? EXIT_OK : EXIT_FAILED;
    } finally {
      for (const cleanup of cleanups.reverse()) await cleanup();
      if (keep) out('crftb', `kept ${work}`);
      else rmSync(work, { recursive: true, force: true });
    }
  },
};
