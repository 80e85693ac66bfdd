// Cancellation never loses the process it was meant to save (issue 11 §1). A checkpoint that
// misses its deadline, is aborted, or is Ctrl-C'd (or hung up) in the CLI leaves its target
// running - even with kill: true - and leaves no half-written generation behind; one interrupted
// after its images were complete commits them and says so. A self-checkpoint's deadline covers
// callbacks and critical sections that never end. A restart that is interrupted leaves nothing
// restored. Every target is a detached child started here (setsid, stdio appended to files).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, locateCriu, probeEngine, restartDetailed } from '../lib/index';
import { cr } from '../lib/cr/native';
import { interruptMidDump, runCli } from './helpers/cli';
import {
  adopt,
  alive,
  countsOn,
  fixtures,
  killStarted,
  processState,
  readNumber,
  readStatuses,
  startDetached,
  startHeap,
  strandedImages,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import { holdMidDump } from './helpers/hold';
import { commitBegun, SLOW_COMMIT_ENV } from './helpers/slow-commit';

t.teardown(killStarted);

const drained = () => cr.drainAbandoned(120000);

// A wrapper that starts the real CRIU `ms` later.
function slowCriu(work: string, ms: number): string {
  const wrapper = path.join(work, 'slow-criu');
  fs.writeFileSync(wrapper, `#!/bin/sh\nsleep ${ms / 1000}\nexec '${locateCriu().path}' "$@"\n`, { mode: 0o755 });
  return wrapper;
}

t.test(
  'kill: true with a deadline that passes while the engine works: ETIMEDOUT, the target runs on, nothing stranded',
  async (t) => {
    const work = tempDir('cr-cancel');
    const target = await startHeap(work, 512);
    const images = path.join(work, 'images');
    const first = await checkpoint({ target: target.pid, dir: images, ftb: false });
    // A CRIU that starts 1 s late: the 300 ms deadline passes while the engine has begun, and the
    // dump itself happens after the request was abandoned.
    const criu = slowCriu(work, 1000);
    await probeEngine({ criu }); // the probe's own slow start is not part of the request
    const error = await checkpoint({
      target: target.pid,
      dir: images,
      kill: true,
      timeoutMs: 300,
      criu,
      ftb: false,
    }).then(
      () => null,
      (e) => e,
    );
    t.match(
      error,
      { code: 'ETIMEDOUT', errno: -110, message: /within 300 ms.*left running/ },
      'the request rejects at its deadline',
    );
    t.notOk(error?.committed, 'and nothing was committed');
    t.ok(await drained(), 'the abandoned dump ends');
    t.ok(
      fs.existsSync(path.join(`${images}.gens`, '2', 'dump.log')),
      'it did run (its log is kept until the next checkpoint)',
    );
    t.ok(alive(target.pid), 'the target was not killed');
    t.not(processState(target.pid), 'T', 'nor left stopped');
    await countsOn(target.counter);
    t.equal(fs.realpathSync(images), first.generation, 'dir still points at the last good checkpoint');
    t.same(strandedImages(images, first.generation), [], 'the abandoned generation left no images');
    // The lock is free again: the next checkpoint into the same dir works and kills as asked.
    const next = await checkpoint({ target: target.pid, dir: images, kill: true, ftb: false });
    t.equal(fs.realpathSync(images), next.generation, 'the next checkpoint commits');
    t.notOk(alive(target.pid), 'and kills the target once committed');
  },
);

t.test(
  'kill: true aborted by its AbortSignal mid-dump: AbortError, the target runs on, nothing stranded',
  async (t) => {
    const work = tempDir('cr-cancel');
    const target = await startHeap(work, 512);
    const images = path.join(work, 'images');
    const controller = new AbortController();
    const request = checkpoint({ target: target.pid, dir: images, kill: true, signal: controller.signal, ftb: false });
    const engine = await holdMidDump(target.pid, process.pid, request);
    const reason = new Error('user pressed stop');
    controller.abort(reason);
    const error = await request.then(
      () => null,
      (e) => e,
    );
    t.ok(engine.held(), 'the request settled while the dump was still being written');
    engine.release();
    t.match(error, { name: 'AbortError', code: 'ABORT_ERR' }, 'rejects with an AbortError');
    t.notOk(error?.committed, 'and commits nothing');
    t.equal(error?.cause, reason, "carrying the signal's reason");
    t.ok(await drained(), 'the abandoned dump ends');
    t.ok(alive(target.pid), 'the target was not killed');
    await countsOn(target.counter);
    t.notOk(fs.existsSync(images), 'no images link was made');
    t.same(strandedImages(images), [], 'no generation was stranded');
    await t.rejects(
      checkpoint({ target: target.pid, dir: images, signal: AbortSignal.abort() }),
      { name: 'AbortError', code: 'ABORT_ERR' },
      'an already aborted signal rejects before anything starts',
    );
    t.notOk(fs.existsSync(`${images}.gens/2`), 'and writes nothing');
  },
);

// SIGHUP (its terminal or SSH session went away) is taken as Ctrl-C: without a handler it would
// kill the CLI mid-request.
for (const [signal, what] of [
  ['SIGINT', 'Ctrl-C'],
  ['SIGHUP', 'SIGHUP'],
] as const) {
  t.test(
    `${what} on \`crftb checkpoint PID --kill\` mid-dump: exit 130, the target runs on, nothing stranded`,
    async (t) => {
      const work = tempDir('cr-cancel');
      const target = await startHeap(work, 512);
      const images = path.join(work, 'images');
      const cli = runCli(['checkpoint', String(target.pid), '--dir', images, '--kill', '--no-ftb'], work);
      const { code, stderr } = await interruptMidDump(t, cli, target.pid, signal);
      t.equal(code, 130, 'the CLI exits 130');
      t.match(stderr, new RegExp(signal), 'and says it was interrupted');
      t.ok(alive(target.pid), 'the target was not killed');
      await countsOn(target.counter);
      t.notOk(fs.existsSync(images), 'no images link was made');
      t.same(strandedImages(images), [], 'the CLI waited for the dump to end and removed its images');
    },
  );
}

t.test('Ctrl-C once the dump is complete: the images are committed, the CLI says so, the target runs on', async (t) => {
  const work = tempDir('cr-cancel');
  const target = await startHeap(work, 400);
  const images = path.join(work, 'images');
  // A version 1 manifest with the portable SHA-256 makes the commit (hashing 400 MiB of images)
  // last seconds: the window between the end of the dump (the target is stopped at once) and the kill.
  const cli = runCli(['checkpoint', String(target.pid), '--dir', images, '--kill', '--no-ftb'], work, SLOW_COMMIT_ENV);
  // The generation's record is the commit's first write (the manifest follows): from then on the
  // engine has answered and the images are complete. The target, stopped by the post-dump
  // notification, is stopped before that already, while CRIU itself may not have answered yet.
  await waitFor('the commit to begin', () => commitBegun(images), 60000);
  t.equal(processState(target.pid), 'T', 'the dumped target is stopped while its images are committed');
  cli.child.kill('SIGINT');
  const { code, stderr } = await cli.exited;
  t.equal(code, 130, 'the CLI exits 130');
  t.match(stderr, /committed as .*images.*left running/, 'and says the images were committed');
  t.ok(alive(target.pid), 'the target was not killed');
  t.not(processState(target.pid), 'T', 'nor left stopped');
  await countsOn(target.counter);
  const generation = fs.realpathSync(images);
  t.same(strandedImages(images, generation), [], 'nothing else is left');
  process.kill(target.pid, 'SIGKILL');
  await target.exited;
  await waitReaped(target.pid);
  const restored = await restartDetailed({ dir: images, ftb: false });
  adopt(restored.pid);
  t.equal(restored.pid, target.pid, 'the committed images restore');
  await countsOn(target.counter);
  process.kill(restored.pid, 'SIGKILL');
});

for (const mode of ['callback', 'critical'] as const) {
  const what =
    mode === 'callback' ? 'an onCheckpoint callback that never returns' : 'a critical section that never ends';
  t.test(`self-checkpoint behind ${what}: ETIMEDOUT at the deadline, the process as it was`, async (t) => {
    const work = tempDir('cr-cancel-self');
    const images = path.join(work, 'images');
    const child = startDetached(path.join(fixtures, 'self-stuck.js'), [work, images, mode, '1500'], work);
    await waitFor(
      'the call to settle and the process to go on',
      () => readStatuses<{ phase: string }>(work).some((s) => s.phase === 'alive'),
      30000,
    );
    const statuses = readStatuses<{
      phase: string;
      code?: string;
      ms?: number;
      outcome?: string;
      imagesExist?: boolean;
      reached?: boolean;
    }>(work);
    const error = statuses.find((s) => s.phase === 'error');
    t.match(error, { code: 'ETIMEDOUT' }, 'checkpoint() rejects ETIMEDOUT');
    t.ok(error && error.ms! >= 1400 && error.ms! < 6000, `at its deadline (${error?.ms} ms of 1500)`);
    if (mode === 'callback') {
      t.ok(error?.reached, 'the inner callback had reached its checkpoint point');
      await waitFor('the waiting callback to learn the outcome', () =>
        readStatuses<{ phase: string }>(work).some((s) => s.phase === 'callback-outcome'),
      );
      t.match(
        readStatuses<{ phase: string }>(work).find((s) => s.phase === 'callback-outcome'),
        { outcome: 'rejected', code: 'ETIMEDOUT' },
        'and ctx.checkpoint() rejected with the same error',
      );
    }
    t.match(
      statuses.find((s) => s.phase === 'alive'),
      { imagesExist: false },
      'nothing was dumped',
    );
    t.notOk(fs.existsSync(`${images}.gens`), 'not even a generation directory');
    t.ok(alive(child.pid), 'the process runs on');
    process.kill(child.pid, 'SIGKILL');
  });
}

t.test('self-checkpoint behind a stuck callback, aborted: AbortError when the signal aborts', async (t) => {
  const work = tempDir('cr-cancel-self');
  const images = path.join(work, 'images');
  const child = startDetached(path.join(fixtures, 'self-stuck.js'), [work, images, 'callback', '0', '300'], work);
  await waitFor(
    'the call to settle',
    () => readStatuses<{ phase: string }>(work).some((s) => s.phase === 'alive'),
    30000,
  );
  t.match(
    readStatuses<{ phase: string }>(work).find((s) => s.phase === 'error'),
    { code: 'ABORT_ERR', name: 'AbortError' },
  );
  t.notOk(fs.existsSync(`${images}.gens`), 'nothing was dumped');
  process.kill(child.pid, 'SIGKILL');
});

t.test('restart interrupted by its signal or deadline leaves nothing restored; the images stay good', async (t) => {
  const work = tempDir('cr-cancel-restart');
  const counter = path.join(work, 'n');
  const target = startDetached(path.join(fixtures, 'counter.js'), [counter], work);
  await waitFor('the counter', () => readNumber(counter) > 2);
  const images = path.join(work, 'images');
  await checkpoint({ target: target.pid, dir: images, kill: true, ftb: false });
  t.notOk(alive(target.pid), 'checkpoint({ kill: true }) resolved with the target dead');
  await waitReaped(target.pid);
  for (const [label, options] of [
    [
      'aborted while it runs',
      () => {
        const c = new AbortController();
        setImmediate(() => c.abort());
        return { signal: c.signal };
      },
    ],
    ['a deadline of 1 ms', () => ({ timeoutMs: 1 })],
  ] as const) {
    const error = await restartDetailed({ dir: images, ftb: false, ...options() }).then(
      (r) => {
        adopt(r.pid);
        return null;
      },
      (e) => e,
    );
    t.match(error, { code: /^(ABORT_ERR|ETIMEDOUT)$/ }, `${label}: the restart rejects`);
    t.ok(await drained(), `${label}: the abandoned restore ends`);
    await waitReaped(target.pid);
    t.notOk(alive(target.pid), `${label}: nothing restored stays running`);
  }
  const restored = await restartDetailed({ dir: images, ftb: false });
  adopt(restored.pid);
  t.equal(restored.pid, target.pid, 'then a plain restart restores from the same images');
  await waitFor('the restored counter to move', () => readNumber(counter) > 5);
  process.kill(restored.pid, 'SIGKILL');
});
