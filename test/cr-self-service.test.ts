// A process's self-checkpoints share one long-lived CRIU service that crftb starts right after the
// first one (native/cr/criu/daemon.h): outside the process's tree and session, in a private 0700 directory,
// reused by the next checkpoint, started anew when it died, and gone (with its directory) soon
// after the process is; a copy restored from a checkpoint starts its own. Every process looked at
// is one this test started or one crftb started for it (found by the watchdog's arguments, which
// name the owner's pid); the only signals sent go to those.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import {
  alive,
  fixtures,
  killStarted,
  readStatuses,
  startDetached,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import { childrenOf, statFields } from './helpers/processes';
import { restartAdopted } from './helpers/restore';

t.teardown(killStarted);

interface Status {
  pid: number;
  phase?: string;
  n?: number;
  restarted?: boolean;
  code?: string;
  message?: string;
}

const statuses = (work: string) => readStatuses<Status>(work);

const cmdline = (pid: number) => {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

interface Daemon {
  watchdog: number;
  service: number;
  dir: string;
}

/** The CRIU services crftb started for `owner`: its watchdog names the owner's pid ($2). */
function daemonsOf(owner: number): Daemon[] {
  const out: Daemon[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const args = cmdline(pid);
    if (
      args[0] !== '/bin/sh' ||
      args[1] !== '-c' ||
      !args[2]?.includes('service --address') ||
      args[5] !== String(owner)
    )
      continue;
    // A child the watchdog forked (for `sleep`, or for the service before its exec) has the
    // watchdog's cmdline until it execs: not a second watchdog.
    const parent = Number(statFields(pid)[1]);
    const parentArgs = cmdline(parent);
    if (parentArgs[2] === args[2] && parentArgs[5] === args[5]) continue;
    const service = childrenOf(pid).find((c) => cmdline(c).includes('service')) ?? 0;
    out.push({ watchdog: pid, service, dir: args[7] });
  }
  return out;
}

/** Waits until `owner` has a CRIU service up (started after a self-checkpoint that had none). */
async function serviceOf(owner: number): Promise<Daemon[]> {
  // What the wait saw, not a second look: while the service execs (its wrapper script, then
  // CRIU's loader) its cmdline can read empty for a moment.
  let found: Daemon[] = [];
  await waitFor(
    `a CRIU service for pid ${owner}`,
    () => {
      found = daemonsOf(owner);
      return found.some((d) => d.service > 0);
    },
    30000,
  );
  return found;
}

function ancestors(pid: number): number[] {
  const out: number[] = [];
  for (let p = Number(statFields(pid)[1]); p > 1; p = Number(statFields(p)[1])) out.push(p);
  return out;
}

t.test(
  'self-checkpoints share one CRIU service outside the tree; it is replaced when it dies and gone with its owner',
  async (t) => {
    const work = tempDir('cr-self-service');
    const images = path.join(work, 'images');
    // A descriptor the process inherited, which its service must not hold. (Node makes inherited
    // descriptors close-on-exec at start-up, so this does not exercise the daemon start's own
    // closing of non-close-on-exec ones, which only a native library's descriptors can need.)
    const inherited = fs.openSync(path.join(work, 'inherited'), 'a');
    const child = startDetached(path.join(fixtures, 'self-repeat.js'), [work, images], work, {}, [inherited]);
    fs.closeSync(inherited);
    await waitFor('the child to start', () => statuses(work).length > 0, 30000);
    const ask = async (owner: number, n: number): Promise<Status> => {
      process.kill(owner, 'SIGUSR2');
      await waitFor(`checkpoint ${n}`, () => statuses(work).some((s) => s.n === n && s.pid === owner), 60000);
      return statuses(work).find((s) => s.n === n && s.pid === owner)!;
    };

    t.same(await ask(child.pid, 1), { pid: child.pid, n: 1, restarted: false }, 'the first self-checkpoint succeeds');
    const [first, ...others] = await serviceOf(child.pid);
    t.same(others, [], 'one CRIU service serves the process');
    t.ok(first.service > 0 && alive(first.service), `it runs (pid ${first.service})`);
    t.notOk(
      ancestors(first.service).includes(child.pid),
      'it is not in the process tree of the process (a self-dump covers that tree)',
    );
    t.not(statFields(first.service)[3], statFields(child.pid)[3], 'nor in its session');
    t.equal(fs.statSync(first.dir).mode & 0o777, 0o700, 'its socket lives in a private 0700 directory');
    t.ok(
      [first.service, first.watchdog].every((pid) =>
        fs.readdirSync(`/proc/${pid}/fd`).every((fd) => !fs.readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith(work)),
      ),
      'it and its watchdog hold nothing of the process (no file under its work directory, not even the inherited one)',
    );

    t.same(await ask(child.pid, 2), { pid: child.pid, n: 2, restarted: false }, 'the second self-checkpoint succeeds');
    t.same(
      daemonsOf(child.pid).map((d) => d.service),
      [first.service],
      'and reuses that service',
    );

    // crftb started it for our child: ours to kill.
    process.kill(first.service, 'SIGKILL');
    await waitFor('its watchdog to clean up', () => !alive(first.watchdog) && !fs.existsSync(first.dir));
    t.same(
      await ask(child.pid, 3),
      { pid: child.pid, n: 3, restarted: false },
      'a self-checkpoint after the service died succeeds',
    );
    const [second, ...more] = await serviceOf(child.pid);
    t.same(more, [], 'again one service');
    t.ok(
      second.service > 0 && second.service !== first.service,
      `a new one (pid ${second.service}, watchdog ${second.watchdog}; the killed one was ${first.service})`,
    );

    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    await waitFor(
      'the service to stop after its owner died',
      () => !alive(second.service) && !alive(second.watchdog),
      10000,
    );
    t.notOk(fs.existsSync(second.dir), 'and its directory to be removed');

    await waitReaped(child.pid);
    const restored = await restartAdopted(images);
    t.equal(restored.pid, child.pid, 'restart() brings the process back');
    await waitFor(
      'the restored copy to resolve its checkpoint',
      () => statuses(work).filter((s) => s.n === 3).length === 2,
    );
    t.same(
      statuses(work).filter((s) => s.n === 3)[1],
      { pid: child.pid, n: 3, restarted: true },
      'with restarted: true',
    );
    t.same(
      await ask(restored.pid, 4),
      { pid: child.pid, n: 4, restarted: false },
      'the restored copy checkpoints itself',
    );
    const [third, ...rest] = await serviceOf(restored.pid);
    t.same(rest, [], 'with one service');
    t.ok(
      third.service > 0 && third.service !== second.service,
      `of its own (pid ${third.service}; the original's was ${second.service})`,
    );
    process.kill(restored.pid, 'SIGKILL');
    await waitFor(
      'that service to stop with the restored copy',
      () => !alive(third.service) && !alive(third.watchdog),
      10000,
    );
  },
);
