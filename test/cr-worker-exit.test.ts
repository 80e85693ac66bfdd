// An environment torn down while a checkpoint of it runs: a worker thread starts a checkpoint and
// is terminated mid-dump, or before the dump began. A request in flight holds its environment's
// teardown until it settles (docs/ARCHITECTURE.md, "Lifetime of native objects"), so nothing
// crashes and the request ends as it would have: the generation is committed, the target is left
// running, no other generation holds images, the images lock is free. Every target is a detached
// setsid child started here.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { checkpoint } from '../lib/index';
import { cr } from '../lib/cr/native';
import {
  alive,
  dumping,
  fixtures,
  killStarted,
  processState,
  readNumber,
  startDetached,
  strandedImages,
  tempDir,
} from './helpers/detached';
import { waitFor } from './helpers/wait';
import { dist } from './helpers/node-child';

t.teardown(killStarted);

async function startHeap(dir: string, mib: number) {
  const counter = path.join(dir, 'n');
  const child = startDetached(path.join(fixtures, 'heap.js'), [counter, String(mib)], dir);
  await waitFor('the heap target to count', () => readNumber(counter) > 2, 30000);
  return { ...child, counter };
}

// A worker that checkpoints `target` into `images`; it says 'started' once the request is queued.
function checkpointInWorker(target: number, images: string) {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    const { checkpoint } = require(${JSON.stringify(dist)});
    checkpoint({ target: ${target}, dir: ${JSON.stringify(images)}, ftb: false }).then(
      () => parentPort.postMessage('settled'), (e) => parentPort.postMessage('rejected ' + e.code));
    parentPort.postMessage('started');`,
    { eval: true },
  );
  const messages: string[] = [];
  worker.on('message', (m) => messages.push(m));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, messages, exited };
}

for (const when of ['mid-dump', 'as soon as the request is queued']) {
  t.test(
    `a worker terminated ${when}: no crash, the target runs on, the generation committed, nothing stranded`,
    async (t) => {
      const work = tempDir('cr-worker-exit');
      const target = await startHeap(work, 256);
      const images = path.join(work, 'images');
      const { worker, messages, exited } = checkpointInWorker(target.pid, images);
      await waitFor('the worker to start the checkpoint', () => messages.includes('started'));
      if (when === 'mid-dump') await dumping(images);
      await worker.terminate();
      t.equal(await exited, 1, 'the worker ended by terminate()');
      t.ok(await cr.drainAbandoned(120000), 'no abandoned engine work is left');
      t.ok(alive(target.pid), 'the target was not killed');
      t.notOk(['T', 't'].includes(processState(target.pid)), 'nor left stopped or traced');
      const now = readNumber(target.counter);
      await waitFor('the target to count on', () => readNumber(target.counter) > now + 2);
      const committed = fs.existsSync(images) ? fs.realpathSync(images) : undefined;
      t.ok(committed, 'the request finished before its environment went: the generation is committed');
      t.same(strandedImages(images, committed), [], 'no other generation holds images');
      // The images lock was let go: the next checkpoint into the same dir, from this thread, commits.
      const next = await checkpoint({ target: target.pid, dir: images, ftb: false });
      t.equal(fs.realpathSync(images), next.generation, 'the next checkpoint into the same dir commits');
      t.ok(alive(target.pid), 'and leaves the target running');
    },
  );
}
