// A Node program with timers, an open file, a worker thread and a listening socket checkpoints
// itself through libcriu, keeps working, is killed, and restart() brings it back: the restored
// copy's pending checkpoint() resolves with restarted: true and it keeps working.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { restartDetailed } from '../lib/index';
import {
  adopt,
  alive,
  ask,
  fixtures,
  killStarted,
  readNumber,
  readStatuses,
  startDetached,
  tempDir,
  waitFor,
  waitGone,
} from './helpers/detached';

t.teardown(killStarted);

interface Status {
  pid: number;
  phase: string;
  restarted?: boolean;
  port?: number;
  events?: string[];
  code?: string;
  message?: string;
  result?: {
    images: string[];
    bytes: number;
    pids: number[];
    path: string;
    generation: string;
    seconds: number;
    frozenSeconds?: number;
    filesThatMustNotChange: unknown[];
  };
}

const statuses = (work: string) => readStatuses<Status>(work);

t.test('self-checkpoint, kill, restart: the restored copy resumes with restarted: true', async (t) => {
  const work = tempDir('cr-self');
  const images = path.join(work, 'images');
  const child = startDetached(path.join(fixtures, 'self-checkpoint.js'), [work, images], work);

  await waitFor('the checkpoint to finish', () => statuses(work).some((s) => s.phase !== 'ready'), 30000);
  const done = statuses(work).find((s) => s.phase !== 'ready')!;
  t.equal(done.phase, 'checkpointed', `checkpoint() resolved (${done.message ?? ''})`);
  t.equal(done.restarted, false, 'the original sees restarted: false');
  t.same(done.events, ['before', 'after-continued'], 'onCheckpoint ran before and was told it continues');
  t.same(done.result!.pids, [child.pid], 'the result names the process included');
  t.ok(done.result!.images.includes('inventory.img') && done.result!.bytes > 0, 'the result lists the images written');
  t.equal(fs.statSync(done.result!.generation).mode & 0o777, 0o700, 'images directory is 0700');
  t.equal(fs.realpathSync(images), done.result!.generation, 'dir points at the images');
  t.ok(
    done.result!.frozenSeconds! > 0 && done.result!.frozenSeconds! <= done.result!.seconds,
    `the result says how long it was frozen (${done.result!.frozenSeconds} s)`,
  );
  t.same(
    done.result!.filesThatMustNotChange,
    [],
    'it holds no file that would break the restore (appended.log is an append)',
  );

  const port = done.port!;
  const before = readNumber(path.join(work, 'ticks'));
  await waitFor('the original to keep ticking', () => readNumber(path.join(work, 'ticks')) > before + 5);
  t.match(await ask(port), new RegExp(`^pong ${child.pid} \\d+$`), 'the original still serves its socket');

  process.kill(child.pid, 'SIGKILL');
  await child.exited;
  await waitGone(child.pid);
  const atKill = readNumber(path.join(work, 'ticks'));
  const workerAtKill = readNumber(path.join(work, 'worker'));
  const linesAtKill = fs.readFileSync(path.join(work, 'appended.log'), 'utf8').split('\n').length;

  const restored = await restartDetailed({ dir: images });
  adopt(restored.pid);
  t.equal(restored.pid, child.pid, 'restart() resolves to the restored pid (the same pid)');
  t.same(restored.pids, [child.pid]);
  t.ok(alive(restored.pid), 'the restored process runs');

  await waitFor('the restored copy to report', () => statuses(work).some((s) => s.restarted === true), 30000);
  const resumed = statuses(work).find((s) => s.restarted === true)!;
  t.equal(resumed.phase, 'checkpointed', 'the pending checkpoint() resolved in the restored copy');
  t.same(resumed.events, ['before', 'after-restarted'], 'onCheckpoint was told it was restarted');
  t.same(resumed.result!.images, done.result!.images, 'and its result says what it was restored from');
  t.equal(resumed.result!.bytes, done.result!.bytes);

  // Timers restart counting from the checkpoint's value; they must rise again past it.
  const restoredTicks = readNumber(path.join(work, 'ticks'));
  await waitFor('timers to tick in the restored copy', () => readNumber(path.join(work, 'ticks')) > restoredTicks + 5);
  await waitFor(
    'the worker thread to tick in the restored copy',
    () => readNumber(path.join(work, 'worker')) !== workerAtKill,
  );
  await waitFor(
    'the open file to grow',
    () => fs.readFileSync(path.join(work, 'appended.log'), 'utf8').split('\n').length > linesAtKill + 2,
  );
  t.match(
    await ask(port),
    new RegExp(`^pong ${child.pid} \\d+$`),
    'the restored copy serves the same listening socket',
  );
  t.comment(`ticks at kill ${atKill}, restored copy now at ${readNumber(path.join(work, 'ticks'))}`);

  process.kill(restored.pid, 'SIGKILL');
});
