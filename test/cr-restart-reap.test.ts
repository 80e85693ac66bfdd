// A restart right after `checkpoint({ kill: true })` (issue 15 §3): the killed processes are dead
// at once, but a pid stays taken while its zombie waits for its parent. restart() waits, bounded
// by reapWaitMs, for the recorded pids to be reaped, and fails EAGAIN (it passes by itself: a
// retry may succeed) saying so when they are not.
// The target is a counter whose parent (`sleep`, which never reaps) is a detached shell started
// here: the counter's zombie lingers until the test kills the sleep and init reaps it.
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import { adopt, alive, criuEnv, fixtures, killStarted, readNumber, tempDir, waitFor } from './helpers/detached';

t.teardown(killStarted);

// `sh -c 'setsid node counter.js N & exec sleep 600'`: the counter leads its own session (CRIU
// dumps session leaders without shell-job) and its parent becomes `sleep`.
async function counterUnderSleep(work: string): Promise<{ parent: number; counter: number; file: string }> {
  const file = path.join(work, 'n');
  const out = fs.openSync(path.join(work, 'out'), 'a');
  const shell = spawn(
    'sh',
    ['-c', 'setsid "$0" "$1" "$2" & exec sleep 600', process.execPath, path.join(fixtures, 'counter.js'), file],
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...criuEnv(), UV_USE_IO_URING: '0' },
    },
  );
  fs.closeSync(out);
  adopt(shell.pid!);
  const children = () =>
    fs
      .readFileSync(`/proc/${shell.pid}/task/${shell.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  await waitFor('the counter to start', () => children().length > 0);
  const [counter] = children();
  adopt(counter);
  await waitFor('the counter to count', () => readNumber(file) > 2, 30000);
  return { parent: shell.pid!, counter, file };
}

const zombie = (pid: number) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
};

t.test('restart waits for the killed pids to be reaped, then restores', async (t) => {
  const work = tempDir('cr-reap');
  const { parent, counter, file } = await counterUnderSleep(work);
  const images = path.join(work, 'images');
  await checkpoint({ target: counter, dir: images, kill: true, ftb: false });
  t.ok(zombie(counter), 'after the kill the counter is a zombie its parent does not reap');
  const started = Date.now();
  // init reaps orphans when it gets to it (1-2 s here, longer under load): bound the wait widely.
  const restart = restartDetailed({ dir: images, ftb: false, reapWaitMs: 30_000 });
  // Time itself is tested here: 300 ms in, the restart is still waiting, not failed (no state says
  // it is waiting). Ending the parent then hands the zombie to init, which reaps it.
  await new Promise((r) => setTimeout(r, 300));
  t.ok(zombie(counter), 'still a zombie while the restart waits');
  process.kill(parent, 'SIGKILL');
  const restored = await restart;
  adopt(restored.pid);
  t.equal(restored.pid, counter, 'restored with its own pid once init reaped the zombie');
  t.comment(`restored ${Date.now() - started} ms after the restart began`);
  const now = readNumber(file);
  await waitFor('the restored counter to count on', () => readNumber(file) > now + 2);
});

t.test('with reapWaitMs: 0 the zombie makes the restart fail EAGAIN at once, naming it', async (t) => {
  const work = tempDir('cr-reap');
  const { counter } = await counterUnderSleep(work);
  const images = path.join(work, 'images');
  await checkpoint({ target: counter, dir: images, kill: true, ftb: false });
  await t.rejects(restartDetailed({ dir: images, ftb: false, reapWaitMs: 0 }), {
    code: 'EAGAIN',
    message: new RegExp(
      `pid ${counter} \\(node\\) has exited but its parent has not reaped it yet \\(waited 0 ms, reapWaitMs\\)`,
    ),
  });
  await t.rejects(
    restartDetailed({ dir: images, ftb: false, reapWaitMs: 200 }),
    { code: 'EAGAIN', message: /waited 200 ms/ },
    'a bounded wait gives up too',
  );
  t.notOk(alive(counter), 'nothing was restored');
});
