// A file system that fills up during the commit - the dump is complete, the target already
// stopped for `stop: true`, the manifest not yet written - fails the checkpoint like one that
// fills up during the dump (README "Failed checkpoints"): ENOSPC, the target is let go again and
// counts on, the images link still names the previous generation, no descriptor is left open, and
// the subscriber sees CHKPT_ERROR(ENOSPC) after its BEGIN. The commit is held open by a slow
// manifest (helpers/slow-commit.ts); the small tmpfs is filled once the commit has begun.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, type CrftbError } from '../lib/index';
import { cr } from '../lib/cr/native';
import { checkRequests, watchForFile } from './helpers/blcr-events';
import { countsOn, killStarted, processState, startHeap, tempDir, waitFor } from './helpers/detached';
import { fdTable } from './helpers/fds';
import { commitBegun, withSlowCommit } from './helpers/slow-commit';
import { fill, imageBytes, mountSmallFs, notRoot } from './helpers/small-fs';

const ENOSPC = 28;

const watch = watchForFile(t);
t.teardown(killStarted);

// The manifest files (written or begun) of the generations of `images` other than `keep`.
function manifests(images: string, keep: string): string[] {
  const gens = `${images}.gens`;
  return fs
    .readdirSync(gens)
    .filter((g) => /^\d+$/.test(g) && path.join(gens, g) !== keep)
    .flatMap((g) => fs.readdirSync(path.join(gens, g)).filter((f) => f.startsWith('crftb-manifest')));
}

t.test(
  'the images file system fills up during the commit: ENOSPC, target let go, previous generation kept, CHKPT_ERROR(28)',
  { skip: notRoot },
  async (t) => {
    const work = tempDir('cr-commit-enospc');
    // 256 MiB of images: hashing them for a SHA-256 manifest keeps the commit open for a while.
    const target = await startHeap(work, 256);
    // Room for two checkpoints and a little: the second one's dump fits, its commit then finds
    // the file system filled.
    const mnt = mountSmallFs(t, work, (await imageBytes(target.pid, work)) * 2.3);
    const images = path.join(mnt, 'images');
    const good = await checkpoint({ target: target.pid, dir: images, ftb: watch().ftb });
    await cr.drainAbandoned(60000);
    const fds = fdTable();
    const from = await watch().mark();

    const error = await withSlowCommit(async () => {
      const request = checkpoint({ target: target.pid, dir: images, stop: true, ftb: watch().ftb }).then(
        () => null,
        (e: CrftbError & { committed?: boolean }) => e,
      );
      await waitFor('the commit to begin', () => commitBegun(images, good.generation), 60000);
      const filled = fill(path.join(mnt, 'filler'));
      // Full from now until the request has settled: a manifest not yet begun can only fail.
      t.same(
        manifests(images, good.generation),
        [],
        `the file system was full (${filled} bytes more) before the manifest was begun`,
      );
      t.equal(processState(target.pid), 'T', 'the dumped target is stopped while its images are committed');
      return request;
    });
    t.match(
      error,
      { code: 'ENOSPC', errno: -ENOSPC, message: /checkpoint manifest/ },
      'checkpoint() rejects ENOSPC: the manifest could not be written',
    );
    t.notOk(error?.committed, 'nothing was committed');
    fs.rmSync(path.join(mnt, 'filler'));
    t.ok(await cr.drainAbandoned(60000), 'nothing of the request goes on in the background');
    await watch().settle();
    checkRequests(t, 'CHKPT', watch().events(process.pid, from), [ENOSPC]);

    t.not(processState(target.pid), 'T', 'the target is not left stopped');
    await countsOn(target.counter);
    t.equal(fs.realpathSync(images), good.generation, 'the images link still names the previous generation');
    const failed = fs
      .readdirSync(`${images}.gens`)
      .filter((g) => /^\d+$/.test(g) && path.join(`${images}.gens`, g) !== good.generation);
    t.same(
      failed.flatMap((g) => fs.readdirSync(path.join(`${images}.gens`, g)).filter((f) => !f.endsWith('.log'))),
      [],
      'the failed generation keeps no images (only its log)',
    );
    t.notMatch(
      fs.readFileSync(path.join(`${images}.gens`, failed[0], 'dump.log'), 'utf8'),
      /Dumping FAILED/,
      'its dump itself had succeeded: the failure was the commit',
    );
    t.same(fdTable(), fds, '/proc/self/fd is exactly what it was');
  },
);
