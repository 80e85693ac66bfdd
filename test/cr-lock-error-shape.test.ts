// A checkpoint that cannot take the images directory's lock fails as Node's system errors do
// (issue 12): the errno of the call that failed, that call as `syscall` and the file as `path`.
// The lock is made impossible with the immutable flag on <dir>.gens (root ignores permission
// bits, not that flag); where the filesystem has no such flag the test is skipped.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { spawnSync } from 'node:child_process';
import { checkpoint } from '../lib/index';
import { killStarted, startCounter, tempDir } from './helpers/detached';

t.teardown(killStarted);

function setImmutable(dir: string, on: boolean): boolean {
  return spawnSync('chattr', [on ? '+i' : '-i', dir], { stdio: 'ignore' }).status === 0;
}

// Whether the temporary directories' filesystem takes the flag.
function immutableWorks(): boolean {
  const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-chattr-'));
  const works = setImmutable(probe, true);
  setImmutable(probe, false);
  fs.rmSync(probe, { recursive: true, force: true });
  return works;
}

const skip = !immutableWorks() && 'chattr +i does not work in the temporary directory';

t.test('the lock of <dir>.gens cannot be created: EPERM from open, with the file as path', { skip }, async (t) => {
  const work = tempDir('cr-lock-shape');
  const images = path.join(work, 'images');
  const gens = `${images}.gens`;
  fs.mkdirSync(gens, { mode: 0o700 });
  t.ok(setImmutable(gens, true), '<dir>.gens is immutable');
  t.teardown(() => setImmutable(gens, false)); // before killStarted removes the directory
  const child = await startCounter(work);
  const error = (await checkpoint({ target: child.pid, dir: images, ftb: false }).then(
    () => t.fail('the checkpoint succeeded without its lock'),
    (e: unknown) => e,
  )) as NodeJS.ErrnoException;
  t.equal(error.code, 'EPERM', 'the errno of the failed call');
  t.equal(util.getSystemErrorName(error.errno!), 'EPERM', 'errno is its negative number');
  t.equal(error.syscall, 'open', 'syscall is the call that failed');
  t.match(error.path, new RegExp(`^${gens}/lock\\.`), 'path is the file it could not create, beside the lock');
  t.match(error.message, `cannot create the lock ${gens}/lock`, 'the message names the lock');
  t.same(fs.readdirSync(gens), [], 'nothing was written into <dir>.gens');
});
