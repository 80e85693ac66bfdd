// `criu check` is run once per CRIU binary, kernel boot and user, not once per process: its answer
// is kept in a directory of the user's own (CRFTB_CRIU_CACHE + "-check" here), and a directory
// or file someone else could have written is never believed. Each probe below is a fresh Node
// process (the in-process memory of an answer plays no part); a wrapper around the real CRIU
// counts how often its check really runs.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { locateCriu } from '../lib/criu/locate';
import { killStarted, tempDir, waitFor } from './helpers/detached';

t.teardown(killStarted); // removes the temporary directories made here

const root = path.join(__dirname, '..');
const real = locateCriu().path;

function setup(script: (counter: string) => string) {
  const work = tempDir('cr-check-cache');
  const counter = path.join(work, 'checks');
  const criu = path.join(work, 'criu');
  fs.writeFileSync(criu, script(counter));
  fs.chmodSync(criu, 0o755);
  const cache = path.join(work, 'cache', 'criu');
  const probe = () => {
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `require(${JSON.stringify(path.join(root, 'dist'))}).probeEngine({ engine: 'criu', criu: ${JSON.stringify(criu)} })` +
          '.then((p) => console.log(JSON.stringify(p.criu.check)))',
      ],
      { env: { ...process.env, CRFTB_CRIU_CACHE: cache }, encoding: 'utf8' },
    );
    return JSON.parse(out) as { passed: boolean; output: string };
  };
  const starts = () => (fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8').split('\n').slice(0, -1) : []);
  const checks = () => starts().filter((what) => what === 'check').length;
  return { work, criu, probe, checks, starts, dir: `${cache}-check` };
}

// Logs how each start was asked for: `check`, or `swrk` for a service (such as the version query).
const counting = (target: string) => (counter: string) => `#!/bin/sh\necho "$1" >> ${counter}\nexec ${target} "$@"\n`;

t.test('a second process reuses the answers; a changed binary is asked again', async (t) => {
  const { criu, probe, checks, starts, dir } = setup(counting(real));
  t.match(probe(), { passed: true, output: /Looks good/ }, 'the first process runs criu check');
  t.equal(checks(), 1);
  t.ok(starts().includes('swrk'), 'and starts a CRIU service to ask its version');
  const started = starts().length;
  t.match(probe(), { passed: true, output: /Looks good/ }, 'the second gets the same answer');
  t.equal(checks(), 1, 'without running the check');
  t.equal(starts().length, started, 'nor starting CRIU at all (the version is known too)');
  t.equal(fs.statSync(dir).mode & 0o777, 0o700, 'the cache directory is private');
  for (const f of fs.readdirSync(dir)) t.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600, `${f} is private`);

  const later = new Date(Date.now() + 5000);
  fs.utimesSync(criu, later, later);
  probe();
  t.equal(checks(), 2, 'a binary changed since is checked again');
});

t.test('a binary whose ctime alone changed (setcap, chmod) is asked again', async (t) => {
  const { criu, probe, checks } = setup(counting(real));
  probe();
  t.equal(checks(), 1);
  const before = fs.statSync(criu, { bigint: true });
  // A chmod to the same mode changes only the ctime, as setcap does (it writes an xattr). The
  // kernel's timestamps are coarse: repeat it until the ctime has moved.
  await waitFor('the ctime to change', () => {
    fs.chmodSync(criu, Number(before.mode & 0o7777n));
    return fs.statSync(criu, { bigint: true }).ctimeNs !== before.ctimeNs;
  });
  const after = fs.statSync(criu, { bigint: true });
  t.equal(after.mtimeNs, before.mtimeNs, 'the mtime is the same');
  t.equal(after.size, before.size, 'and the size');
  t.equal(after.ino, before.ino, 'and the inode');
  t.equal(after.mode, before.mode, 'and the mode');
  probe();
  t.equal(checks(), 2, 'checked again');
  probe();
  t.equal(checks(), 2, 'and the new answer is kept');
});

t.test('a failing check is remembered too, with what CRIU said', async (t) => {
  const { probe, checks } = setup(
    (counter) =>
      `#!/bin/sh\nif [ "$1" = check ]; then\n  echo check >> ${counter}\n  echo "Error: this CRIU cannot work here" >&2\n  exit 1\nfi\nexec ${real} "$@"\n`,
  );
  t.match(probe(), { passed: false, output: /cannot work here/ });
  t.match(probe(), { passed: false, output: /cannot work here/ }, 'the same answer, from the cache');
  t.equal(checks(), 1, 'checked once');
});

t.test('a cache directory or answer another user could have written is not believed', async (t) => {
  const { probe, checks, dir } = setup(counting(real));
  probe();
  t.equal(checks(), 1);
  // The check's answer (the version is kept beside it, in a file of its own).
  const answer = fs
    .readdirSync(dir)
    .find((f) => /\ncheck\n(passed|failed)\n/.test(fs.readFileSync(path.join(dir, f), 'utf8')));
  if (!answer) throw new Error(`no stored check answer in ${dir}`);

  fs.chmodSync(dir, 0o770);
  probe();
  t.equal(checks(), 2, 'a group-writable directory: checked again');
  fs.chmodSync(dir, 0o700);

  fs.chownSync(dir, 65534, 65534);
  probe();
  t.equal(checks(), 3, "a directory of another user's: checked again");
  fs.chownSync(dir, process.getuid!(), process.getgid!());

  // The answer replaced by a link to a copy of itself: never read through a link.
  const copy = path.join(path.dirname(dir), 'planted');
  fs.copyFileSync(path.join(dir, answer), copy);
  fs.rmSync(path.join(dir, answer));
  fs.symlinkSync(copy, path.join(dir, answer));
  probe();
  t.equal(checks(), 4, 'an answer behind a symlink: checked again');

  fs.rmSync(path.join(dir, answer));
  probe();
  t.equal(checks(), 5, 'a fresh answer is stored');
  fs.chownSync(path.join(dir, answer), 65534, 65534);
  probe();
  t.equal(checks(), 6, "an answer file of another user's: checked again");
  fs.rmSync(path.join(dir, answer));
  probe();
  fs.chmodSync(path.join(dir, answer), 0o666);
  probe();
  t.equal(checks(), 8, 'a world-writable answer file: checked again');
});
