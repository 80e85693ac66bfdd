// Checkpoints of other processes: a whole tree (dumped and killed, then restarted with its pids),
// and incremental checkpoints of one process (second image set holds only the changed pages).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import {
  adopt,
  alive,
  fixtures,
  killAndReap,
  killStarted,
  readNumber,
  startDetached,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import { restartAdopted } from './helpers/restore';

t.teardown(killStarted);

// CONFIG_MEM_SOFT_DIRTY, from the kernel config when it is published (it is on this machine kind).
function softDirty(): boolean {
  try {
    const config = require('node:zlib').gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
    return /^CONFIG_MEM_SOFT_DIRTY=y$/m.test(config);
  } catch {
    return true;
  }
}

t.test('tree scope: dump and kill a process tree, restart brings every pid back', async (t) => {
  const work = tempDir('cr-tree');
  const root = startDetached(path.join(fixtures, 'tree.js'), [work], work);
  await waitFor('the tree to run', () =>
    ['parent', 'child1', 'child2'].every((f) => readNumber(path.join(work, f)) > 3),
  );
  const pids: number[] = JSON.parse(fs.readFileSync(path.join(work, 'pids.json'), 'utf8'));
  pids.forEach(adopt);

  const images = path.join(work, 'images');
  const result = await checkpoint({ scope: 'tree', target: root.pid, dir: images, kill: true });
  t.equal(result.restarted, false);
  t.same([...result.pids].sort(), [...pids].sort(), 'the result names every process of the tree');
  t.ok(result.images.includes('pstree.img'), 'images written');
  // checkpoint({ kill: true }) resolves once the killed processes are gone.
  t.same(
    pids.filter((pid) => alive(pid)),
    [],
    'kill: true ended the whole tree once the images were committed',
  );
  await root.exited;
  for (const pid of pids) await waitReaped(pid);

  const restored = await restartDetailed({ dir: images });
  t.equal(restored.pid, root.pid, 'the root comes back with its pid');
  t.same([...restored.pids].sort(), [...pids].sort(), 'restart reports every restored pid');
  for (const pid of pids) t.ok(alive(pid), `pid ${pid} runs again`);
  const counts = ['parent', 'child1', 'child2'].map((f) => readNumber(path.join(work, f)));
  await waitFor('every process to count again', () =>
    ['parent', 'child1', 'child2'].every((f, i) => readNumber(path.join(work, f)) > counts[i] + 3),
  );
  for (const pid of pids) process.kill(pid, 'SIGKILL');
});

t.test('incremental: the second checkpoint of a process writes only what changed', async (t) => {
  const work = tempDir('cr-incr');
  const counter = path.join(work, 'n');
  const child = startDetached(path.join(fixtures, 'heap.js'), [counter, '64'], work);
  await waitFor('the heap to be filled', () => readNumber(counter) > 3);
  const images = path.join(work, 'images');
  const full = await checkpoint({ target: child.pid, dir: images, incremental: true });
  t.equal(full.incremental, false, 'the first checkpoint is a full one');
  const ran = readNumber(counter);
  await waitFor('the process to run on after the first checkpoint', () => readNumber(counter) > ran);
  const second = await checkpoint({ target: child.pid, dir: images, incremental: true });
  if (!softDirty()) {
    // CRIU's incremental dumps need the kernel's soft-dirty page tracking; without it crftb
    // falls back to full checkpoints (and says so) instead of failing.
    t.equal(second.incremental, false, 'without soft-dirty tracking the second checkpoint is a full one');
    t.notOk(fs.existsSync(full.generation), 'the superseded full checkpoint is removed');
  } else {
    t.equal(second.incremental, true, 'the second one is written over the first');
    t.ok(second.bytes < full.bytes / 4, `second wrote ${second.bytes} bytes, the full one ${full.bytes}`);
    t.ok(fs.existsSync(full.generation), 'the parent images are kept while the child needs them');
  }

  await killAndReap(child);
  const atKill = readNumber(counter);
  const restored = await restartAdopted(images, {});
  t.equal(restored.pid, child.pid, 'restored from the latest checkpoint');
  await waitFor('the restored process to count on', () => readNumber(counter) > atKill + 3);
  process.kill(restored.pid, 'SIGKILL');
});
