// restartDetailed().exited for CRIU (issue 15 §3): crftb restores the root as the caller's child
// (CRIU's restore-sibling: CLONE_PARENT from the CRIU service, which is our child), waits for it,
// and `exited` settles with its exit status. A restore that fails after CRIU cloned the root leaves
// no zombie of it behind (only we could reap it).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import {
  adopt,
  fixtures,
  killStarted,
  readNumber,
  settled,
  startDetached,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';

t.teardown(killStarted);

const parentOf = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};

async function checkpointedAndKilled(prefix: string) {
  const work = tempDir(prefix);
  const child = startDetached(path.join(fixtures, 'exit-on-request.js'), [work], work);
  await waitFor('the target to count', () => readNumber(path.join(work, 'n')) > 2);
  const images = path.join(work, 'images');
  await checkpoint({ target: child.pid, dir: images, kill: true, ftb: false });
  await child.exited;
  await waitReaped(child.pid);
  return { work, images, pid: child.pid };
}

t.test('the restored root is our child and exited reports its exit code', async (t) => {
  const { work, images, pid } = await checkpointedAndKilled('cr-exited');
  const restored = await restartDetailed({ dir: images, ftb: false });
  adopt(restored.pid);
  t.equal(restored.pid, pid, 'restored with its own pid');
  t.equal(parentOf(restored.pid), process.pid, 'its parent is this process, not init');
  t.ok(restored.exited instanceof Promise, 'exited watches it');
  const counted = readNumber(path.join(work, 'n'));
  await waitFor('the restored copy to count on', () => readNumber(path.join(work, 'n')) > counted + 2);
  fs.writeFileSync(path.join(work, 'exit'), '7');
  t.same(await settled(restored.exited!), { code: 7, signal: null }, 'its exit code 7 reaches the caller');
  t.notOk(fs.existsSync(`/proc/${restored.pid}`), 'and it was reaped: no zombie left');
});

t.test('exited reports the signal that ended the restored root', async (t) => {
  const { images } = await checkpointedAndKilled('cr-exited-sig');
  const restored = await restartDetailed({ dir: images, ftb: false });
  adopt(restored.pid);
  process.kill(restored.pid, 'SIGTERM');
  t.same(await settled(restored.exited!), { code: null, signal: 'SIGTERM' }, 'SIGTERM reaches the caller');
});

t.test('a restore that fails after the root was cloned leaves no zombie child behind', async (t) => {
  // A file written at its offset grew after the dump: CRIU refuses it while restoring the
  // root's files, after cloning it (test/cr-files-must-not-change shows the announcement).
  const work = tempDir('cr-exited-fail');
  const child = startDetached(path.join(fixtures, 'file-writer.js'), [work], work);
  await waitFor('the writer', () => readNumber(path.join(work, 'n')) > 2);
  const images = path.join(work, 'images');
  await checkpoint({ target: child.pid, dir: images, ftb: false });
  const atCheckpoint = readNumber(path.join(work, 'n'));
  await waitFor('the file to grow after the checkpoint', () => readNumber(path.join(work, 'n')) > atCheckpoint + 3);
  process.kill(child.pid, 'SIGKILL');
  await child.exited;
  await waitReaped(child.pid);
  await t.rejects(restartDetailed({ dir: images, ftb: false }), { message: /written\.log/ }, 'the restore fails');
  await waitReaped(child.pid, 10_000);
  t.notOk(fs.existsSync(`/proc/${child.pid}`), 'the root CRIU had cloned as our child was reaped');
});
