// The provisioned CRIU works on this machine: `criu check` passes, and the CLI dumps and restores
// a detached Node process that keeps running from where it was (same pid, counter still rising).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { locateCriu } from '../lib/criu/locate';
import {
  alive,
  criuEnv,
  fixtures,
  killStarted,
  readNumber,
  startDetached,
  tempDir,
  waitFor,
  waitGone,
} from './helpers/detached';

t.teardown(killStarted);

t.test('the CRIU finder obeys option, CRFTB_CRIU, provisioned wrapper, PATH', async (t) => {
  const found = locateCriu();
  t.ok(path.isAbsolute(found.path), `found ${found.path} (${found.source})`);
  t.same(locateCriu('/bin/sh'), { path: '/bin/sh', source: 'option' }, 'an explicit path wins');
  const saved = process.env.CRFTB_CRIU;
  try {
    process.env.CRFTB_CRIU = '/bin/true';
    t.same(locateCriu(), { path: '/bin/true', source: 'env' }, 'CRFTB_CRIU comes next');
    process.env.CRFTB_CRIU = '/nonexistent/criu';
    t.throws(
      () => locateCriu(),
      { code: 'ENOENT', message: /CRFTB_CRIU/ },
      'a bad CRFTB_CRIU is reported, not skipped',
    );
  } finally {
    if (saved === undefined) delete process.env.CRFTB_CRIU;
    else process.env.CRFTB_CRIU = saved;
  }
  t.throws(() => locateCriu('/nonexistent/criu'), { code: 'ENOENT', errno: -2 });
  t.throws(() => locateCriu('/tmp'), { code: 'EACCES' }, 'a directory is not a CRIU');
});

t.test('criu check passes', async (t) => {
  const criu = locateCriu().path;
  const out = execFileSync(criu, ['check'], { stdio: ['ignore', 'pipe', 'pipe'], env: criuEnv() }).toString();
  t.match(out, /Looks good/);
});

t.test('criu CLI dumps and restores a detached Node process', async (t) => {
  const criu = locateCriu().path;
  const dir = tempDir('criu-cli');
  const images = path.join(dir, 'images');
  const counter = path.join(dir, 'counter');
  const child = startDetached(path.join(fixtures, 'counter.js'), [counter], dir);
  await waitFor('the counter to start', () => readNumber(counter) > 3);

  execFileSync('mkdir', ['-m', '0700', images]);
  execFileSync(criu, ['dump', '-t', String(child.pid), '-D', images, '-o', 'dump.log', '-v4'], {
    stdio: 'ignore',
    timeout: 60000,
    env: criuEnv(),
  });
  await child.exited; // the dump (without --leave-running) killed it; its pid is reaped and free again
  const atDump = readNumber(counter);
  t.notOk(alive(child.pid), 'the dump stopped the process');

  execFileSync(criu, ['restore', '-D', images, '-d', '-o', 'restore.log', '-v4'], {
    stdio: 'ignore',
    timeout: 60000,
    env: criuEnv(),
  });
  t.ok(alive(child.pid), 'the restored process has the same pid');
  await waitFor('the counter to rise after restore', () => readNumber(counter) > atDump + 5);
  t.comment(`counter went from ${atDump} to ${readNumber(counter)} after restore`);

  process.kill(child.pid, 'SIGKILL');
  await waitGone(child.pid);
});
