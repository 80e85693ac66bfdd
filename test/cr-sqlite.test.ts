// A database written through a self-checkpoint (issue 16 §6): a Node program writing SQLite
// (better-sqlite3, WAL) every 5 ms checkpoints itself with the documented pattern (close the
// database in onCheckpoint, reopen after). The checkpoint names no file that would break its
// restore; after SIGKILL and restart the copy reopens the database, keeps writing, and the
// database passes SQLite's integrity check with every row numbered without gap or repeat.
import t from 'tap';
import path from 'node:path';
import Database from 'better-sqlite3';
import {
  alive,
  fixtures,
  killAndReap,
  killStarted,
  startDetached,
  tempDir,
  waitFor,
  waitReaped,
  waitStatus,
} from './helpers/detached';
import { restartAdopted } from './helpers/restore';

t.teardown(killStarted);

interface Status {
  phase: string;
  rows?: number;
  mustNotChange?: unknown[];
  code?: string;
  message?: string;
}

const rowCount = (file: string) => {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT COUNT(*) AS c FROM rows').get() as { c: number };
  } finally {
    db.close();
  }
};

t.test('SQLite written through a self-checkpoint, kill and restart: consistent, numbered without gaps', async (t) => {
  const work = tempDir('cr-sqlite');
  const images = path.join(work, 'images');
  const file = path.join(work, 'data.db');
  const child = startDetached(path.join(fixtures, 'sqlite-writer.js'), [work, images], work);
  const done = await waitStatus<Status>(work, 'the checkpoint', (s) => s.phase !== 'ready');
  t.equal(done.phase, 'checkpointed', `the checkpoint succeeded (${done.message ?? ''})`);
  t.same(done.mustNotChange, [], 'with the database closed, no open file would break its restore');
  const before = rowCount(file).c;
  await waitFor('the writer to go on after the checkpoint', () => rowCount(file).c > before + 20);
  await killAndReap(child);
  const afterKill = rowCount(file).c;

  const restored = await restartAdopted(images);
  t.equal(restored.pid, child.pid, 'restarted');
  await waitStatus<Status>(work, 'the restored copy to report', (s) => s.phase === 'restored');
  await waitFor('the restored copy to write on', () => rowCount(file).c > afterKill + 20);
  process.kill(restored.pid, 'SIGKILL');
  await waitReaped(restored.pid);
  t.notOk(alive(restored.pid));

  const db = new Database(file);
  t.teardown(() => db.close());
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'the database passes its integrity check');
  const { c, max } = db.prepare('SELECT COUNT(*) AS c, MAX(n) AS max FROM rows').get() as { c: number; max: number };
  t.equal(c, max, `rows are numbered 1..${max} without gap or repeat`);
});
