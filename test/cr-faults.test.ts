// Checkpoint faults end in a coded error with the errno that names the cause, keep the previous
// good checkpoint (the images link still points at it and it restores), and leak no descriptor
// into the requesting process: the images' file system fills up (a small tmpfs mounted here),
// the target exits mid-dump, the CRIU service is killed mid-dump. Every process touched is one
// this test started: detached targets, and the CRIU service this test's own checkpoint spawned
// (found as the child of this process that has the target seized).
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint } from '../lib/index';
import {
  type Detached,
  alive,
  fixtures,
  killAndReap,
  killStarted,
  readNumber,
  startDetached,
  tempDir,
  waitFor,
} from './helpers/detached';
import { holdMidDump } from './helpers/hold';
import { restartAdopted } from './helpers/restore';
import { imageBytes, mountSmallFs, notRoot } from './helpers/small-fs';

t.teardown(killStarted);

const fdCount = () => fs.readdirSync('/proc/self/fd').length;

// The previous good checkpoint is still what `images` points at, and the target comes back from it.
async function restoresFrom(t: Test, images: string, generation: string, target: Detached, counter: string) {
  t.equal(fs.realpathSync(images), generation, 'the images link still points at the last good generation');
  const leftovers = fs
    .readdirSync(`${images}.gens`)
    .filter((g) => path.join(`${images}.gens`, g) !== generation)
    .flatMap((g) => fs.readdirSync(path.join(`${images}.gens`, g)).filter((f) => !f.endsWith('.log')));
  t.same(leftovers, [], 'the failed attempt left no partial images (only its log)');
  await killAndReap(target);
  const before = readNumber(counter);
  const restored = await restartAdopted(images, {});
  t.equal(restored.pid, target.pid, 'the last good checkpoint restores');
  await waitFor('the restored target to count on', () => readNumber(counter) > before + 3);
  process.kill(restored.pid, 'SIGKILL');
}

// A target holding 256 MiB of heap (its dump takes long enough to be interrupted) and a first,
// good checkpoint of it in <work>/images.
async function heapWithGoodCheckpoint(mib = 256) {
  const work = tempDir('cr-faults');
  const counter = path.join(work, 'n');
  const target = startDetached(path.join(fixtures, 'heap.js'), [counter, String(mib)], work);
  await waitFor('the heap to be filled', () => readNumber(counter) > 2, 30000);
  const images = path.join(work, 'images');
  const good = await checkpoint({ target: target.pid, dir: images });
  return { counter, target, images, good };
}

t.test(
  'the images file system fills up: ENOSPC, previous checkpoint kept and restorable',
  { skip: notRoot },
  async (t) => {
    const work = tempDir('cr-faults');
    const counter = path.join(work, 'n');
    const target = startDetached(path.join(fixtures, 'heap.js'), [counter, '48'], work);
    await waitFor('the heap to be filled', () => readNumber(counter) > 2);
    // Room for one checkpoint and half of another: the second fails for want of space.
    const mnt = mountSmallFs(t, work, (await imageBytes(target.pid, work)) * 1.5);
    const images = path.join(mnt, 'images');
    const good = await checkpoint({ target: target.pid, dir: images });
    const fds = fdCount();
    await t.rejects(checkpoint({ target: target.pid, dir: images }), {
      code: 'ENOSPC',
      errno: -28,
      message: /no space left for the images .* the previous checkpoint is kept/,
    });
    t.equal(fdCount(), fds, 'no descriptor leaked by the failed checkpoint');
    t.ok(alive(target.pid), 'the target keeps running');
    await restoresFrom(t, images, good.generation, target, counter);
  },
);

t.test('the target exits mid-dump: ESRCH, previous checkpoint kept and restorable', async (t) => {
  const { counter, target, images, good } = await heapWithGoodCheckpoint();
  const fds = fdCount();
  const attempt = checkpoint({ target: target.pid, dir: images });
  // Killed while its dump is held: the exit lands mid-dump however loaded the machine.
  const engine = await holdMidDump(target.pid, process.pid, attempt);
  process.kill(target.pid, 'SIGKILL');
  engine.release();
  await t.rejects(attempt, {
    code: 'ESRCH',
    errno: -3,
    message: new RegExp(`pid ${target.pid} exited while it was being checkpointed`),
  });
  t.equal(fdCount(), fds, 'no descriptor leaked by the failed checkpoint');
  await restoresFrom(t, images, good.generation, target, counter);
});

t.test(
  'the CRIU service is killed mid-dump: ECOMM, target unharmed, previous checkpoint kept and restorable',
  async (t) => {
    const { counter, target, images, good } = await heapWithGoodCheckpoint(1024);
    const fds = fdCount();
    const attempt = checkpoint({ target: target.pid, dir: images });
    // Ours for certain: a child of this very process with the target seized, held there so that
    // the kill lands mid-dump however loaded the machine.
    const engine = await holdMidDump(target.pid, process.pid, attempt);
    const service = engine.pid;
    t.ok(engine.held(), `the CRIU service (pid ${service}, a child of this process) is dumping`);
    process.kill(service, 'SIGKILL');
    await t.rejects(attempt, { code: 'ECOMM', errno: -70, message: /CRIU service exited before it answered/ });
    t.equal(fdCount(), fds, 'no descriptor leaked by the failed checkpoint');
    await waitFor('the killed service to be reaped', () => !fs.existsSync(`/proc/${service}`));
    t.ok(alive(target.pid), 'the target survived its interrupted dump');
    const ticks = readNumber(counter);
    await waitFor('the target to keep counting', () => readNumber(counter) > ticks + 3);
    await restoresFrom(t, images, good.generation, target, counter);
  },
);
