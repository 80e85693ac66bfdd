// A callback the caller gives crftb that fails is never lost and never lets a checkpoint go on as
// if it had succeeded: an onCheckpoint callback that rejects before it calls ctx.checkpoint()
// cancels the checkpoint (ERR_CALLBACK_FAILED, its error as cause, nothing dumped; callbacks
// waiting in ctx.checkpoint() learn it); one that rejects after it makes the call reject with
// committed: true and the images named, in the original and in the restored copy; a throwing
// retry.onRetry ends the retries the same way. Real self-checkpoints in detached children.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, isCrftbError, restartDetailed } from '../lib/index';
import {
  adopt,
  fixtures,
  killAndReap,
  killStarted,
  readStatuses,
  startCounter,
  startDetached,
  tempDir,
  waitStatus,
} from './helpers/detached';

t.teardown(killStarted);

interface Status {
  phase: string;
  crftb?: boolean;
  code?: string;
  message?: string;
  committed?: boolean;
  restarted?: boolean;
  path?: string;
  generation?: string;
  resultPath?: string;
  cause?: { message: string; code?: string };
  outcome?: string;
  imagesExist?: boolean;
}

const uncaught = (work: string) =>
  readStatuses<Status>(work).filter((s) => s.phase === 'uncaughtException' || s.phase === 'unhandledRejection');

t.test('a callback that rejects before ctx.checkpoint() cancels the checkpoint, with its error as cause', async (t) => {
  const work = tempDir('cr-callback');
  const images = path.join(work, 'images');
  const child = startDetached(path.join(fixtures, 'self-callback-fails.js'), [work, images, 'before'], work);
  const alive = await waitStatus<Status>(work, 'the call to settle', (s) => s.phase === 'alive');
  const error = readStatuses<Status>(work).find((s) => s.phase === 'error');
  t.match(
    error,
    { crftb: true, code: 'ERR_CALLBACK_FAILED', cause: { message: 'flush failed', code: 'EAPPFAILED' } },
    'checkpoint() rejects with a crftb error whose cause is the callback error',
  );
  t.match(error?.message, /before the checkpoint.*nothing was dumped.*flush failed/, 'the message says so');
  t.notOk(error?.committed, 'not committed');
  t.match(
    readStatuses<Status>(work).find((s) => s.phase === 'waiter-outcome'),
    { outcome: 'rejected', code: 'ERR_CALLBACK_FAILED' },
    'the callback waiting in ctx.checkpoint() learned it',
  );
  t.equal(alive.imagesExist, false, 'nothing was dumped');
  t.notOk(fs.existsSync(`${images}.gens`), 'not even a generation directory');
  t.same(uncaught(work), [], 'no uncaught exception or unhandled rejection');
  process.kill(child.pid, 'SIGKILL');
});

t.test(
  'a callback that rejects after ctx.checkpoint() makes the call reject, committed, in the original and the restored copy',
  async (t) => {
    const work = tempDir('cr-callback');
    const images = path.join(work, 'images');
    const child = startDetached(path.join(fixtures, 'self-callback-fails.js'), [work, images, 'after'], work);
    await waitStatus<Status>(work, 'the call to settle', (s) => s.phase === 'alive', 60000);
    const error = readStatuses<Status>(work).find((s) => s.phase === 'error');
    t.match(
      error,
      {
        crftb: true,
        code: 'ERR_CALLBACK_FAILED',
        committed: true,
        restarted: false,
        cause: { message: 'reopen failed', code: 'EAPPFAILED' },
      },
      'the original: rejected, committed, with the callback error as cause',
    );
    t.ok(error?.path && error.generation && error.resultPath === error.path, 'the error names the images');
    t.equal(fs.realpathSync(images), error?.generation, 'and they are the checkpoint');
    t.match(error?.message, /after the checkpoint.*committed.*reopen failed/);
    t.match(
      readStatuses<Status>(work).find((s) => s.phase === 'other-after'),
      { restarted: false },
      "the other callback's after part ran",
    );
    t.same(uncaught(work), [], 'no uncaught exception or unhandled rejection');

    await killAndReap(child);
    const restored = await restartDetailed({ dir: images, ftb: false });
    adopt(restored.pid);
    const again = await waitStatus<Status>(
      work,
      'the restored copy to report',
      (s) => s.phase === 'error' && s.restarted === true,
    );
    t.match(
      again,
      { crftb: true, code: 'ERR_CALLBACK_FAILED', committed: true, cause: { message: 'reconnect failed' } },
      'the restored copy: rejected too, saying restarted: true',
    );
    t.same(uncaught(work), [], 'still no uncaught exception');
    process.kill(restored.pid, 'SIGKILL');
  },
);

t.test('a throwing retry.onRetry ends the retries: ERR_CALLBACK_FAILED with its error as cause', async (t) => {
  const work = tempDir('cr-callback');
  const target = await startCounter(work);
  const images = path.join(work, 'images');
  const seen: string[] = [];
  const retry = {
    retries: 100,
    delayMs: 20,
    onRetry: (error: Error) => {
      seen.push((error as Error & { code: string }).code);
      throw new Error('onRetry broke');
    },
  };
  const [a, b] = await Promise.allSettled([
    checkpoint({ target: target.pid, dir: images, ftb: false, retry }),
    checkpoint({ target: target.pid, dir: images, ftb: false, retry }),
  ]);
  const refused = [a, b].filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
  const done = [a, b].filter((r) => r.status === 'fulfilled');
  t.equal(refused.length, 1, 'the checkpoint refused first rejected');
  t.equal(done.length, 1, 'the other committed');
  t.same(seen, ['EAGAIN'], 'onRetry was called once, for the refusal');
  const error = refused[0]?.reason;
  t.ok(isCrftbError(error), 'a crftb error');
  t.match(error, { code: 'ERR_CALLBACK_FAILED', cause: { message: 'onRetry broke' } });
  t.match(error?.message, /onRetry.*onRetry broke/);
});
