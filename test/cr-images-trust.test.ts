// The images directory trusts nobody else (issue 11 §2). In a shared directory another user can
// pre-create what crftb would use: a world-writable <dir>.gens, a link of their own, a planted
// generation or log symlink, a record that says "no manifest". Every such thing is refused with
// EPERM or EBADMSG naming it, nothing is written through it, and two checkpoints into one dir
// never run at once. "Another user" is uid 65534 (nobody), set with chown as root.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import { adopt, alive, killStarted, startCounter, tempDir, waitGone, waitReaped } from './helpers/detached';

t.teardown(killStarted);

const nobody = 65534;

function noImagesIn(dir: string): boolean {
  return !fs.existsSync(dir) || fs.readdirSync(dir).length === 0;
}

t.test(
  'a <dir>.gens of another user, or writable by others, is refused (EPERM) and nothing is written into it',
  async (t) => {
    const work = tempDir('cr-trust');
    fs.chmodSync(work, 0o1777); // a shared directory, like /tmp
    const child = await startCounter(work);
    const images = path.join(work, 'images');
    fs.mkdirSync(`${images}.gens`, { mode: 0o777 });
    fs.chmodSync(`${images}.gens`, 0o777);
    fs.chownSync(`${images}.gens`, nobody, nobody);
    await t.rejects(
      checkpoint({ target: child.pid, dir: images, ftb: false }),
      {
        code: 'EPERM',
        message: new RegExp(`${images}\\.gens belongs to uid ${nobody}`),
      },
      "another user's <dir>.gens",
    );
    t.ok(noImagesIn(`${images}.gens`), 'nothing was written into it');
    fs.chownSync(`${images}.gens`, 0, 0);
    await t.rejects(
      checkpoint({ target: child.pid, dir: images, ftb: false }),
      {
        code: 'EPERM',
        message: /writable by its group or by others.*chmod go-w/,
      },
      'a world-writable <dir>.gens of ours',
    );
    t.ok(noImagesIn(`${images}.gens`), 'nothing was written into it either');
    fs.chmodSync(`${images}.gens`, 0o700);
    const good = await checkpoint({ target: child.pid, dir: images, ftb: false });
    t.equal(fs.realpathSync(images), good.generation, 'once it is ours alone, the checkpoint works');
    t.equal(fs.statSync(good.generation).mode & 0o777, 0o700, 'generations are 0700');
  },
);

t.test("a dir link of another user's is refused; so is a generation another user owns", async (t) => {
  const work = tempDir('cr-trust');
  const child = await startCounter(work);
  const images = path.join(work, 'images');
  fs.mkdirSync(`${images}.gens/1`, { recursive: true, mode: 0o700 });
  fs.symlinkSync('images.gens/1', images);
  fs.lchownSync(images, nobody, nobody);
  await t.rejects(checkpoint({ target: child.pid, dir: images, ftb: false }), {
    code: 'EPERM',
    message: new RegExp(`${images} belongs to uid ${nobody}`),
  });
  await t.rejects(restartDetailed({ dir: images, ftb: false }), {
    code: 'EPERM',
    message: new RegExp(`${images} belongs to uid ${nobody}`),
  });
  fs.lchownSync(images, 0, 0);
  fs.chownSync(`${images}.gens/1`, nobody, nobody);
  await t.rejects(
    restartDetailed({ dir: images, ftb: false }),
    { code: 'EPERM', message: /images\.gens\/1 belongs to uid 65534/ },
    'a planted generation is not restored from',
  );
  fs.symlinkSync('/etc', path.join(work, 'elsewhere'));
  await t.rejects(restartDetailed({ dir: path.join(work, 'elsewhere'), ftb: false }), {
    code: 'EINVAL',
    message: /symlink crftb did not make/,
  });
});

t.test(
  'planted files in a generation: a log symlink, a device, a fifo, an unlisted file, "manifest 0" - refused, nothing written through',
  async (t) => {
    const work = tempDir('cr-trust');
    const child = await startCounter(work);
    const images = path.join(work, 'images');
    const { generation } = await checkpoint({ target: child.pid, dir: images, kill: true, ftb: false });
    await waitGone(child.pid);
    await waitReaped(child.pid);
    const victim = path.join(work, 'root-owned-file');
    fs.writeFileSync(victim, 'precious\n');
    const plant = async (what: string, make: () => void, undo: () => void, message: RegExp) => {
      make();
      await t.rejects(restartDetailed({ dir: images, ftb: false }), { code: 'EBADMSG', message }, what);
      t.notOk(alive(child.pid), `${what}: nothing was restored`);
      undo();
    };
    const log = path.join(generation, 'restore.log');
    await plant(
      'a restore.log symlink to a root-owned file',
      () => fs.symlinkSync(victim, log),
      () => fs.unlinkSync(log),
      /restore\.log is a symlink/,
    );
    t.equal(fs.readFileSync(victim, 'utf8'), 'precious\n', 'the file the symlink named was not written');
    const fifo = path.join(generation, 'pipe.img');
    await plant(
      'a fifo',
      () => require('node:child_process').execFileSync('mkfifo', [fifo]),
      () => fs.unlinkSync(fifo),
      /pipe\.img is a special file/,
    );
    const link = path.join(generation, 'pages-7.img');
    await plant(
      'an image symlink',
      () => fs.symlinkSync('/dev/zero', link),
      () => fs.unlinkSync(link),
      /pages-7\.img is a symlink/,
    );
    const record = path.join(generation, 'crftb-generation');
    const saved = fs.readFileSync(record, 'utf8');
    const manifest = path.join(generation, 'crftb-manifest');
    const savedManifest = fs.readFileSync(manifest);
    await plant(
      '"manifest 0" in the record, with the manifest gone',
      () => {
        fs.writeFileSync(record, `${saved}manifest 0\n`);
        fs.unlinkSync(manifest);
      },
      () => {
        fs.writeFileSync(record, saved);
        fs.writeFileSync(manifest, savedManifest, { mode: 0o600 });
      },
      /has no checksum manifest/,
    );
    const restored = await restartDetailed({ dir: images, ftb: false });
    adopt(restored.pid);
    t.equal(restored.pid, child.pid, 'the untouched generation restores');
    t.ok(fs.lstatSync(log).isFile(), 'and its restore.log is a fresh regular file');
    t.equal(fs.lstatSync(log).mode & 0o777, 0o600);
    process.kill(restored.pid, 'SIGKILL');
  },
);

t.test(
  'two checkpoints into one dir, round after round: the second fails fast with EAGAIN (transient), the first commits',
  async (t) => {
    const work = tempDir('cr-trust');
    const a = await startCounter(path.join(work));
    const images = path.join(work, 'images');
    // Several rounds: the lock must hold whichever request reaches it first and however the two
    // interleave (a lock file created empty and written after once let both through, ~1 round in 2).
    for (let round = 1; round <= 8; round += 1) {
      const results = await Promise.allSettled([
        checkpoint({ target: a.pid, dir: images, ftb: false }),
        checkpoint({ target: a.pid, dir: images, ftb: false }),
      ]);
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      const done = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ generation: string }>[];
      t.equal(done.length, 1, `round ${round}: one checkpoint succeeds`);
      t.equal(failed.length, 1, `round ${round}: the other fails`);
      t.match(failed[0]?.reason, {
        code: 'EAGAIN',
        message: new RegExp(`another checkpoint \\(pid ${process.pid}\\) is writing into ${images}`),
      });
      t.equal(
        fs.realpathSync(images),
        done[0]?.value.generation,
        `round ${round}: the successful one is committed and intact`,
      );
      t.notOk(fs.existsSync(`${images}.gens/lock`), `round ${round}: the lock is released`);
    }
    // A lock left by a holder that is gone (a crashed process) is taken over.
    fs.writeFileSync(`${images}.gens/lock`, '999999999 1 1', { mode: 0o600 });
    const next = await checkpoint({ target: a.pid, dir: images, ftb: false });
    t.equal(fs.realpathSync(images), next.generation, 'a stale lock does not block the next checkpoint');
  },
);
