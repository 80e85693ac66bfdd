// An interrupted restart restores nothing (README, "Cancellation"): a restore still running when
// the request is aborted, passes its deadline, or its CLI gets SIGTERM is let finish, and what it
// restored never runs and is gone once drainAbandoned() resolves; the images stay good. Also
// SIGTERM on `crftb checkpoint --kill` mid-dump: exit 130, the target runs on, nothing committed.
// The CRIU service a request spawns is held (SIGSTOP) so the interrupt lands while the engine works
// whatever the machine's load. Every target is a detached counter started here.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import { cr } from '../lib/cr/native';
import { CrftbProcess } from './helpers/crftb-process';
import { hold } from './helpers/hold';
import {
  adopt,
  alive,
  type Detached,
  killStarted,
  processState,
  readNumber,
  settled,
  startCounter,
  strandedImages,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import {
  childrenOf,
  criuServiceStarted,
  dumpingService,
  dumpStarted,
  isRestoreService,
  stillThere,
} from './helpers/processes';

t.teardown(killStarted);

const drained = () => cr.drainAbandoned(120000);

// The counter file as last written: a restored copy writing to it (even the same value) shows.
function fileState(file: string) {
  return { n: readNumber(file), mtime: fs.statSync(file, { bigint: true }).mtimeNs };
}

interface Checkpointed {
  target: Detached & { counter: string };
  images: string;
  at: ReturnType<typeof fileState>;
}

// A counter checkpointed with kill: true, once its pid is free for a restore.
async function checkpointedCounter(prefix: string): Promise<Checkpointed> {
  const work = tempDir(prefix);
  const target = await startCounter(work);
  const images = path.join(work, 'images');
  await checkpoint({ target: target.pid, dir: images, kill: true, ftb: false });
  await target.exited;
  await waitReaped(target.pid);
  return { target, images, at: fileState(target.counter) };
}

// What an interrupted restart must leave, once its abandoned restore has ended: the restored copy
// never ran, its pid (CRIU restores pids exactly) is free, and no process of the restore is left
// among the requester's children (`before`: its children before the request).
function nothingRestored(t: Test, c: Checkpointed, newChildren: () => number[]): void {
  t.same(fileState(c.target.counter), c.at, 'the counter file was never written: the restored copy did not run');
  t.notOk(fs.existsSync(`/proc/${c.target.pid}`), `pid ${c.target.pid} is free: nothing restored is left`);
  t.same(newChildren(), [], 'no process of the restore is left among the requester children');
}

// A plain restart from the same images then works, and the copy counts on.
async function restartsLater(t: Test, c: Checkpointed): Promise<void> {
  const restored = await restartDetailed({ dir: c.images, ftb: false });
  adopt(restored.pid);
  t.equal(restored.pid, c.target.pid, 'a later restart from the same dir restores the process');
  await waitFor('the restored counter to move', () => readNumber(c.target.counter) > c.at.n);
  process.kill(restored.pid, 'SIGKILL');
  if (restored.exited) await settled(restored.exited);
}

async function heldRestart(c: Checkpointed, options: { signal?: AbortSignal; timeoutMs?: number }) {
  const before = new Set(childrenOf());
  const request = restartDetailed({ dir: c.images, ftb: false, ...options }).then(
    (r) => {
      adopt(r.pid);
      return r;
    },
    (e) => e,
  );
  // Held from the moment the restore's service exists: the whole restore happens after the interrupt.
  const engine = await hold(
    await criuServiceStarted(process.pid, before, { timeoutMs: 30000, match: isRestoreService, request }),
  );
  return {
    engine,
    request,
    newChildren: () => childrenOf().filter((pid) => !before.has(pid)),
  };
}

t.test('a restart aborted while the engine restores: ABORT_ERR, and what it restores never runs', async (t) => {
  const c = await checkpointedCounter('restart-abort');
  const controller = new AbortController();
  const { engine, request, newChildren } = await heldRestart(c, { signal: controller.signal });
  const reason = new Error('user pressed stop');
  controller.abort(reason);
  const error = await request;
  t.ok(engine.held(), 'the request settled while the restore was held');
  engine.release();
  // Only ABORT_ERR: no deadline was given, and the engine cannot have answered while held.
  t.match(error, { name: 'AbortError', code: 'ABORT_ERR', message: /aborted/ }, 'rejects with an AbortError');
  t.equal(error?.cause, reason, "carrying the signal's reason");
  t.ok(await drained(), 'the abandoned restore ends');
  nothingRestored(t, c, newChildren);
  await restartsLater(t, c);
});

t.test('a restart whose deadline passes while the engine restores: ETIMEDOUT, nothing runs', async (t) => {
  const c = await checkpointedCounter('restart-deadline');
  // Long enough to reach the engine on a loaded machine; the hold makes it pass there.
  const { engine, request, newChildren } = await heldRestart(c, { timeoutMs: 4000 });
  const error = await request;
  t.ok(engine.held(), 'the request settled while the restore was held');
  engine.release();
  t.match(error, { code: 'ETIMEDOUT', message: /within 4000 ms.*killed when it ends/ }, 'rejects at its deadline');
  t.ok(await drained(), 'the abandoned restore ends');
  nothingRestored(t, c, newChildren);
  await restartsLater(t, c);
});

t.test('SIGTERM on `crftb restart` while the engine restores: exit 130, nothing restored runs', async (t) => {
  const c = await checkpointedCounter('restart-cli');
  const cli = CrftbProcess.start(['restart', '--dir', c.images, '--no-ftb']);
  // Every process of the restore is the CLI's child (restore-sibling), so the CLI's children tell.
  const engine = await hold(
    await criuServiceStarted(cli.child.pid!, new Set(), {
      timeoutMs: 30000,
      match: isRestoreService,
      request: cli.exit(),
    }),
  );
  cli.signal('SIGTERM');
  await waitFor('the CLI to give the request up and wait for the engine', () =>
    /waiting for the engine to finish what it started/.test(cli.stderr),
  );
  t.ok(engine.held(), 'the request was given up while the restore was held');
  engine.release();
  const { code } = await cli.exit();
  t.equal(code, 130, 'the CLI exits 130');
  t.match(cli.stderr, /SIGTERM: stopping/, 'and says it was interrupted');
  t.same(cli.lines.map((l) => l.event === 'text' && l.text).filter(Boolean), [], 'and reports no restart');
  nothingRestored(t, c, () => []);
  await restartsLater(t, c);
});

t.test(
  'SIGTERM on `crftb checkpoint PID --kill` mid-dump: exit 130, the target runs on, nothing committed',
  async (t) => {
    const work = tempDir('checkpoint-cli');
    const target = await startCounter(work);
    const images = path.join(work, 'images');
    const cli = CrftbProcess.start(['checkpoint', String(target.pid), '--dir', images, '--kill', '--no-ftb']);
    const service = await dumpStarted(target.pid, cli.child.pid!, cli.exit());
    const engine = await hold(service);
    t.equal(dumpingService(target.pid, cli.child.pid!)?.pid, service.pid, 'held with the target seized: mid-dump');
    cli.signal('SIGTERM');
    await waitFor('the CLI to give the request up and wait for the engine', () =>
      /waiting for the engine to finish what it started/.test(cli.stderr),
    );
    t.ok(engine.held() && stillThere(service), 'the request was given up while the dump was held');
    engine.release();
    const { code } = await cli.exit();
    t.equal(code, 130, 'the CLI exits 130');
    t.match(cli.stderr, /SIGTERM: stopping/, 'and says it was interrupted');
    t.ok(alive(target.pid), 'the target was not killed');
    t.not(processState(target.pid), 'T', 'nor left stopped');
    const now = readNumber(target.counter);
    await waitFor('the target to count on', () => readNumber(target.counter) > now + 2);
    t.notOk(fs.existsSync(images), 'no images link was made');
    t.same(strandedImages(images), [], 'the CLI waited for the dump to end and removed its images');
  },
);
