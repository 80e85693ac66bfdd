// A checkpoint supersedes the previous generation of its dir, and removes it after the call has
// resolved, on a thread of its own (freeing a GiB of images can take a second): it is renamed out
// of the way (".superseded-<n>-<pid>") under the images lock at once, so the directory never holds
// two generations, and removed in the background. What a process did not live to remove is
// removed by the next checkpoint into the same dir; what a running process set aside is left to it.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { checkpoint } from '../lib/index';
import { cr } from '../lib/cr/native';
import { killStarted, startCounter, tempDir } from './helpers/detached';

t.teardown(killStarted);

t.test('the superseded generation is set aside at once and removed after the call', async (t) => {
  const work = tempDir('cr-superseded');
  const target = await startCounter(work);
  const images = path.join(work, 'images');
  const gens = `${images}.gens`;
  const first = await checkpoint({ target: target.pid, dir: images, ftb: false });
  const second = await checkpoint({ target: target.pid, dir: images, ftb: false });
  const numbered = fs.readdirSync(gens).filter((g) => /^\d+$/.test(g));
  t.same(numbered, [path.basename(second.generation)], 'the directory holds one generation as the call resolves');
  const aside = fs.readdirSync(gens).filter((g) => !/^\d+$/.test(g) && g !== '.lock');
  t.ok(
    aside.every((g) => g === `.superseded-${path.basename(first.generation)}-${process.pid}`),
    `anything else is the superseded one, being removed (${aside.join(', ') || 'already gone'})`,
  );
  t.ok(await cr.drainAbandoned(60_000), 'the removal ends');
  t.same(fs.readdirSync(gens), [path.basename(second.generation)], 'and leaves the one generation');
});

t.test("the next checkpoint removes what a dead process set aside, not a running one's", async (t) => {
  const work = tempDir('cr-superseded');
  const target = await startCounter(work);
  const images = path.join(work, 'images');
  const gens = `${images}.gens`;
  await checkpoint({ target: target.pid, dir: images, ftb: false });
  // A process that is gone (started, exited and reaped here), and one that runs (the target).
  const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(gone.stdout.trim());
  const orphan = path.join(gens, `.superseded-1-${deadPid}`);
  const busy = path.join(gens, `.superseded-1-${target.pid}`);
  for (const dir of [orphan, busy]) {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'pages-1.img'), Buffer.alloc(4096));
  }
  const next = await checkpoint({ target: target.pid, dir: images, ftb: false });
  t.notOk(fs.existsSync(orphan), `the dead process's (pid ${deadPid}) is removed by the next checkpoint`);
  t.ok(fs.existsSync(busy), "a running process's is left to it");
  t.ok(await cr.drainAbandoned(60_000));
  t.same(
    fs.readdirSync(gens).sort(),
    [path.basename(next.generation), path.basename(busy)].sort(),
    'nothing else is left',
  );
});
