// Which CRIU crftb uses and whether it works here: probeEngine() reports the `criu check` of the
// very binary a request would use, the locator prefers a CRIU that passes it, `crftb
// provision-criu` installs into the stable cache the locator always checks, and CRIU run without
// privileges fails EPERM naming the capability instead of EBADE.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { probeEngine } from '../lib/cr/probe';
import { cr } from '../lib/cr/native';
import { locateCriu } from '../lib/criu/locate';
import { killStarted, tempDir } from './helpers/detached';

t.teardown(killStarted); // removes the temporary directories made here

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'crftb.js');
const good = locateCriu().path; // the clone's provisioned CRIU, which criu-cli.test.ts proves works
// A CRIU that runs but fails `criu check` on this kernel: Debian 12's 3.17, where installed.
const debian = ['/usr/sbin/criu', '/sbin/criu'].find(existsSync);

function wrapper(dir: string, target: string): string {
  mkdirSync(path.join(dir, 'bin'), { recursive: true });
  const file = path.join(dir, 'bin', 'criu');
  writeFileSync(file, `#!/bin/sh\nexec ${target} "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

/** Runs fn with env overrides (the locator reads the process environment). */
async function withEnv<T>(env: Record<string, string | undefined>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

t.test('probeEngine() reports the criu check of the CRIU a request would use', async (t) => {
  const probe = await probeEngine({ engine: 'criu' });
  t.equal(probe.criu?.path, good, 'the binary the locator picks');
  t.match(probe, { works: true, selfCheckpoint: true, criu: { check: { passed: true, output: /Looks good/ } } });
});

t.test(
  'a CRIU that fails criu check is reported as not working',
  { skip: !debian && 'no distribution CRIU installed' },
  async (t) => {
    const before = (await cr.criuCheck(debian!)).passed;
    t.notOk(before, `${debian} fails criu check on this kernel`);
    const probe = await probeEngine({ engine: 'criu', criu: debian });
    t.match(probe, {
      works: false,
      selfCheckpoint: false,
      criu: { path: debian, source: 'option', check: { passed: false } },
    });
    t.ok(probe.criu!.check.output.length > 0, `and says why: ${probe.criu!.check.output}`);
  },
);

t.test(
  'the locator chooses a CRIU that passes criu check',
  { skip: !debian && 'no distribution CRIU installed' },
  async (t) => {
    const dir = tempDir('locate');
    const fakeRoot = path.join(dir, 'pkg');
    const broken = wrapper(path.join(fakeRoot, '.cache', 'criu'), debian!); // a clone's provisioned one, broken
    const cache = path.join(dir, 'cache');
    const working = wrapper(cache, good);
    await withEnv({ CRFTB_CRIU: undefined, CRFTB_CRIU_CACHE: cache }, () => {
      t.same(
        cr.locateCriu('', fakeRoot),
        { path: working, source: 'cache' },
        'the broken first candidate is passed over',
      );
      t.equal(cr.criuCacheDir(), cache, 'CRFTB_CRIU_CACHE names the cache');
    });
    await withEnv(
      { CRFTB_CRIU: undefined, CRFTB_CRIU_CACHE: path.join(dir, 'empty'), PATH: path.join(dir, 'nowhere') },
      () => {
        t.same(
          cr.locateCriu('', fakeRoot),
          { path: broken, source: 'provisioned' },
          'with nothing better, the only one (its own error will tell)',
        );
      },
    );
    await withEnv(
      { CRFTB_CRIU: undefined, CRFTB_CRIU_CACHE: path.join(dir, 'empty'), PATH: path.join(dir, 'nowhere') },
      () => {
        t.throws(
          () => cr.locateCriu('', path.join(dir, 'no-package')),
          {
            code: 'ENOENT',
            message: /as root run 'npx crftb provision-criu' \(in a clone: 'node bin\/crftb\.js provision-criu'\)/,
          },
          'no CRIU anywhere: ENOENT with the commands that provide one',
        );
      },
    );
    await withEnv({ CRFTB_CRIU: debian }, () => {
      t.same(
        cr.locateCriu('', fakeRoot),
        { path: debian, source: 'env' },
        'CRFTB_CRIU is used as given, checked or not',
      );
    });
  },
);

t.test('the default cache: /var/cache/crftb/criu for root, else the user cache', async (t) => {
  const env = { ...process.env, CRFTB_CRIU_CACHE: '' };
  const ask = (e: NodeJS.ProcessEnv, uid?: number) =>
    spawnSync(process.execPath, ['-p', "require('./dist/criu/locate').criuCacheDir()"], { cwd: root, env: e, uid })
      .stdout.toString()
      .trim();
  if (process.getuid?.() === 0) t.equal(ask(env), '/var/cache/crftb/criu');
  if (process.getuid?.() === 0) {
    t.equal(
      ask({ ...env, XDG_CACHE_HOME: '/x/cache' }, 65534),
      '/x/cache/crftb/criu',
      'XDG_CACHE_HOME for other users',
    );
    t.equal(ask({ ...env, XDG_CACHE_HOME: '', HOME: '/home/u' }, 65534), '/home/u/.cache/crftb/criu', 'else ~/.cache');
  }
});

t.test('crftb provision-criu installs where the locator looks, outside node_modules', async (t) => {
  const cache = path.join(tempDir('provision'), 'criu');
  // Seeded with the clone's already downloaded prefix, so the test needs no network: the script
  // then writes the wrapper and checks it, as it does on every run after the first.
  mkdirSync(cache, { recursive: true });
  cpSync(path.join(path.dirname(path.dirname(good)), 'prefix-4.2.1'), path.join(cache, 'prefix-4.2.1'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  const out = spawnSync(process.execPath, [bin, 'provision-criu', '--json'], {
    env: { ...process.env, CRFTB_CRIU_CACHE: cache },
  });
  t.equal(out.status, 0, `exits 0 (stderr: ${out.stderr})`);
  const result = JSON.parse(out.stdout.toString());
  t.same(result, { criu: path.join(cache, 'bin', 'criu'), cacheDir: cache });
  t.match(execFileSync(result.criu, ['check'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString(), /Looks good/);
  await withEnv({ CRFTB_CRIU: undefined, CRFTB_CRIU_CACHE: cache }, () => {
    t.same(
      cr.locateCriu('', path.join(cache, 'no-package')),
      { path: result.criu, source: 'cache' },
      'the locator finds it',
    );
  });
});

t.test(
  'CRIU without privileges fails EPERM naming CAP_CHECKPOINT_RESTORE',
  { skip: process.getuid?.() !== 0 && 'needs root to run a process as nobody' },
  async (t) => {
    const dir = tempDir('eperm');
    chownSync(dir, 65534, 65534);
    // The unprivileged process checkpoints a child it starts itself (detached: its own session).
    const script = `
    const { spawn } = require('node:child_process');
    const { checkpoint } = require(${JSON.stringify(path.join(root, 'dist'))});
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    checkpoint({ target: child.pid, dir: ${JSON.stringify(path.join(dir, 'images'))}, ftb: false, timeoutMs: 60000 })
      .then((r) => console.log(JSON.stringify({ ok: r.path })), (e) => console.log(JSON.stringify({ code: e.code, errno: e.errno, message: e.message })))
      .finally(() => child.kill('SIGKILL'));`;
    const out = spawnSync(process.execPath, ['-e', script], {
      uid: 65534,
      gid: 65534,
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: dir, UV_USE_IO_URING: '0', ...sanitizerEnv() },
      timeout: 90_000,
    });
    const result = JSON.parse(out.stdout.toString().trim().split('\n').pop() || '{}');
    t.match(
      result,
      { code: 'EPERM', errno: -1, message: /needs CAP_CHECKPOINT_RESTORE.*setcap cap_checkpoint_restore\+eip/ },
      result.code ? `the unprivileged dump: ${result.code}` : `no result; stderr: ${out.stderr}`,
    );
  },
);

// Under npm run test:asan the sanitized addon loads only with the sanitizer runtime preloaded.
function sanitizerEnv(): NodeJS.ProcessEnv {
  const { LD_PRELOAD, ASAN_OPTIONS, UBSAN_OPTIONS } = process.env;
  return Object.fromEntries(
    Object.entries({ LD_PRELOAD, ASAN_OPTIONS, UBSAN_OPTIONS }).filter(([, v]) => v !== undefined),
  );
}
