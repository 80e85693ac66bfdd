// A requester that dies never leaves its targets stopped. With stop or kill, the targets of a
// checkpoint of other processes are stopped from the end of the dump until the requester has
// committed the images and sent SIGKILL (or left them stopped on purpose). A requester that dies
// in between - SIGKILL, or a crash - used to leave them frozen for good; its halt guardian
// (native/cr/halt_guardian.h) now lets them continue. A Node requester that calls process.exit()
// finishes its request first. (SIGHUP to the CLI is taken as Ctrl-C: cr-cancel-no-loss.)
// Every target is a detached counter started here (setsid, stdio appended to files), and every
// requester is a process this test started.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { checkpoint, restartDetailed } from '../lib/index';
import { cr } from '../lib/cr/native';
import { runCli } from './helpers/cli';
import {
  adopt,
  alive,
  countsOn,
  fixtures,
  killStarted,
  processState,
  startHeap,
  strandedImages,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import { holdMidDump } from './helpers/hold';
import { commitBegun, SLOW_COMMIT_ENV } from './helpers/slow-commit';

const requesters = new Set<ChildProcess>();
t.teardown(() => {
  for (const child of requesters) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  killStarted();
});

function cli(work: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = runCli(['checkpoint', ...args, '--no-ftb'], work, env);
  requesters.add(run.child);
  return run;
}

// Long enough for a slowed commit of a few hundred MiB on a loaded machine.
const commitBegan = (images: string) => waitFor('the commit to begin', () => commitBegun(images), 60000);

const stopped = (pid: number) => ['T', 't'].includes(processState(pid));

// The target is neither stopped nor lost, and runs.
async function resumed(t: Test, target: { pid: number; counter: string }): Promise<void> {
  await waitFor('the target to be let continue', () => !stopped(target.pid), 30000);
  t.ok(alive(target.pid), 'the target was not killed');
  await countsOn(target.counter);
  t.pass('the target is running and counting again');
}

// The next checkpoint into the same dir takes the dead requester's lock over, commits, and
// leaves only its own generation.
async function nextCheckpointWorks(t: Test, pid: number, images: string): Promise<void> {
  const next = await checkpoint({ target: pid, dir: images, ftb: false });
  t.ok(await cr.drainAbandoned(120000), 'what it superseded is removed');
  t.equal(fs.realpathSync(images), next.generation, 'the next checkpoint into the same dir commits');
  const generations = fs.readdirSync(`${images}.gens`).filter((g) => /^\d+$/.test(g));
  t.same(generations, [path.basename(next.generation)], 'and leaves only its own generation');
  t.same(strandedImages(images, next.generation), [], 'and no images elsewhere');
}

for (const mode of ['--kill', '--stop']) {
  t.test(`\`crftb checkpoint PID ${mode}\` SIGKILLed while it commits: the target continues`, async (t) => {
    const work = tempDir('cr-requester-death');
    const target = await startHeap(work, 128);
    const images = path.join(work, 'images');
    const run = cli(work, [String(target.pid), '--dir', images, mode], SLOW_COMMIT_ENV);
    await commitBegan(images);
    // Held inside its commit, so the kill lands there however the machine is loaded.
    process.kill(run.child.pid!, 'SIGSTOP');
    t.equal(processState(target.pid), 'T', 'the dumped target is stopped while its images are committed');
    run.child.kill('SIGKILL');
    t.equal((await run.exited).signal, 'SIGKILL', 'the requester died');
    await resumed(t, target);
    await nextCheckpointWorks(t, target.pid, images);
  });
}

t.test('`crftb checkpoint PID --kill` SIGKILLed mid-dump: the target continues once CRIU ends', async (t) => {
  const work = tempDir('cr-requester-death');
  const target = await startHeap(work, 400);
  const images = path.join(work, 'images');
  const run = cli(work, [String(target.pid), '--dir', images, '--kill']);
  const engine = await holdMidDump(target.pid, run.child.pid!, run.exited);
  run.child.kill('SIGKILL');
  t.equal((await run.exited).signal, 'SIGKILL', 'the requester died mid-dump');
  t.ok(engine.held(), 'while CRIU was still dumping');
  engine.release();
  await waitFor('the orphaned CRIU service to end', engine.gone, 60000);
  await resumed(t, target);
  await nextCheckpointWorks(t, target.pid, images);
});

// The fixture requester (test/fixtures/cr/requester.js) checkpointing `target` with kill: true,
// dying at the point `mode` says, and how it ended.
async function nodeRequester(target: number, images: string, mode: 'exit' | 'wait') {
  const requester = spawn(process.execPath, [path.join(fixtures, 'requester.js'), String(target), images, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...SLOW_COMMIT_ENV },
  });
  requesters.add(requester);
  let output = '';
  requester.stdout.on('data', (d) => (output += d));
  requester.stderr.on('data', (d) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    requester.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { requester, exited, output: () => output };
}

t.test('a Node requester of checkpoint({ kill: true }) SIGKILLed mid-commit: the target continues', async (t) => {
  const work = tempDir('cr-requester-death');
  const target = await startHeap(work, 128);
  const images = path.join(work, 'images');
  const run = await nodeRequester(target.pid, images, 'wait');
  await commitBegan(images);
  process.kill(run.requester.pid!, 'SIGSTOP');
  t.equal(processState(target.pid), 'T', 'the dumped target is stopped while its images are committed');
  run.requester.kill('SIGKILL');
  t.equal((await run.exited).signal, 'SIGKILL', 'the requester died');
  t.notMatch(run.output(), /resolved/, 'before its request was over');
  await resumed(t, target);
  await nextCheckpointWorks(t, target.pid, images);
});

t.test(
  'a Node requester of checkpoint({ kill: true }) calling process.exit() mid-commit: the request ends first',
  async (t) => {
    const work = tempDir('cr-requester-death');
    const target = await startHeap(work, 128);
    const images = path.join(work, 'images');
    const run = await nodeRequester(target.pid, images, 'exit');
    t.same(await run.exited, { code: 0, signal: null }, 'the requester exited by itself');
    t.notMatch(run.output(), /resolved/, 'before its promise settled');
    // process.exit() does not cut a request short: libuv joins its pool's threads at exit, so the
    // request ran to its end first. The target was killed as asked, its images committed.
    t.notOk(stopped(target.pid), 'the target is not left stopped');
    t.notOk(alive(target.pid), 'it was killed as asked');
    await target.exited;
    await waitReaped(target.pid);
    const restored = await restartDetailed({ dir: images, ftb: false });
    adopt(restored.pid);
    t.equal(restored.pid, target.pid, 'from its committed images it restarts');
    await countsOn(target.counter);
    await nextCheckpointWorks(t, restored.pid, images);
  },
);
