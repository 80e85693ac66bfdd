// No checkpoint that cannot be restored without saying so (issue 16 §2): a process that keeps
// writing a file opened with 'w' after its checkpoint cannot be restored from it (files are never
// rolled back; CRIU refuses a file of another size). The checkpoint result names that file in
// filesThatMustNotChange - and not the file opened for appending - and the restore then fails as
// announced. The result also says how long the process was frozen.
import t from 'tap';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import { fixtures, killStarted, readNumber, startDetached, tempDir, waitFor, waitReaped } from './helpers/detached';

t.teardown(killStarted);

t.test(
  'a file opened with "w" and written after the checkpoint: named in the result, and the restore fails as announced',
  async (t) => {
    const work = tempDir('cr-files');
    const child = startDetached(path.join(fixtures, 'file-writer.js'), [work], work);
    await waitFor('the writer', () => readNumber(path.join(work, 'n')) > 2);
    const images = path.join(work, 'images');
    const result = await checkpoint({ target: child.pid, dir: images, ftb: false });
    const named = result.filesThatMustNotChange.map((f) => f.path);
    t.ok(
      named.includes(path.join(work, 'written.log')),
      `the file written at its offset is named (${named.join(', ')})`,
    );
    t.notOk(named.includes(path.join(work, 'appended.log')), 'the file opened for appending is not');
    t.ok(
      result.filesThatMustNotChange.every((f) => f.pid === child.pid && f.fd > 2),
      'each with its pid and descriptor',
    );
    t.ok(
      result.frozenSeconds! > 0 && result.frozenSeconds! <= result.seconds,
      `frozen for ${result.frozenSeconds} s of ${result.seconds} s`,
    );
    const atCheckpoint = readNumber(path.join(work, 'n'));
    await waitFor('the file to grow after the checkpoint', () => readNumber(path.join(work, 'n')) > atCheckpoint + 3);
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    await waitReaped(child.pid);
    await t.rejects(
      restartDetailed({ dir: images, ftb: false }),
      { message: /written\.log.*(bad size|size)/ },
      'the restore fails on that file, as announced',
    );
  },
);
