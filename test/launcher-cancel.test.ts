// A coordinator's AbortSignal and deadline reach the nodes (issue 11 §1, launcher): a job
// checkpoint with kill: true that is aborted, or that misses its deadline, while a node is still
// dumping leaves that node's processes running and their unfinished images removed; the node
// answers ECANCELED, and the coordinator rejects with an AbortError (or reports ETIMEDOUT). Real
// agent, coordinator and node on loopback; the node's one tree is a detached process started here
// (a tree of one).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { startAgent } from '../lib/ftb/agent';
import { JobCoordinator, LauncherNode } from '../lib/launcher';
import { pendingDirectory, treeDirectory } from '../lib/launcher/node';
import { cr } from '../lib/cr/native';
import { alive, fixtures, killStarted, readNumber, startDetached, tempDir, waitFor } from './helpers/detached';

t.teardown(killStarted);

// The node checkpoints in this process. A version 1 manifest with the portable SHA-256 keeps its
// commit of 512 MiB of images busy for seconds, so a 400 ms deadline always falls while the node
// is still at work (with XXH3-128 a quiet machine once finished the whole job inside it).
process.env.CRFTB_MANIFEST_SHA256 = '1';
process.env.CRFTB_SHA256_PORTABLE = '1';

function imagesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.img'));
}

for (const how of ['aborted', 'past its deadline'] as const) {
  t.test(`a job checkpoint with kill: true ${how} mid-dump: the tree runs on, nothing stranded`, async (t) => {
    const work = tempDir('launch-cancel');
    const root = path.join(work, 'root');
    const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
    t.teardown(() => agent.close());
    const ftb = { agentHost: '127.0.0.1', agentPort: agent.address.port };
    const counter = path.join(work, 'worker.count');
    const worker = startDetached(path.join(fixtures, 'heap.js'), [counter, '512'], work);
    await waitFor('the worker to count', () => readNumber(counter) > 2, 30000);

    const node = await LauncherNode.start({
      job: 'jobc',
      node: 'n1',
      imageRoot: root,
      ftb,
      checkpoint: { kill: true, ftb: false },
    });
    t.teardown(() => node.close());
    node.addTree('worker', worker.pid);
    const coordinator = await JobCoordinator.start({ job: 'jobc', ftb });
    t.teardown(() => coordinator.close());

    const treeDir = treeDirectory(root, 'jobc', 'latest', 'n1', 'worker');
    // Phase one of a job checkpoint dumps into the node's pending directory (protocol.ts).
    const dumpDir = path.join(pendingDirectory(root, 'jobc', 'latest', 'n1'), 'tree-worker');
    const controller = new AbortController();
    const request = coordinator.checkpoint({
      nodes: ['n1'],
      ...(how === 'aborted' ? { signal: controller.signal } : { timeoutMs: 400 }),
    });
    if (how === 'aborted') {
      await waitFor(
        'the tree to be dumping',
        () => imagesBelow(`${dumpDir}.gens`).some((f) => /pages-\d+\.img$/.test(f)),
        30000,
      );
      controller.abort();
      await t.rejects(request, { name: 'AbortError', code: 'ABORT_ERR' }, 'the coordinator rejects with an AbortError');
    } else {
      const result = await request;
      t.match(
        result,
        { ok: false, errno: 110, missing: ['n1'] },
        'the coordinator reports ETIMEDOUT with the node missing',
      );
    }
    await node.idle();
    const record = node.history.at(-1);
    t.match(record, { op: 'checkpoint', ok: false, errno: 125 }, 'the node stopped: ECANCELED');
    t.ok(await cr.drainAbandoned(60000), 'the abandoned dump ends');
    t.ok(alive(worker.pid), 'the worker was not killed');
    const now = readNumber(counter);
    await waitFor('the worker to count on', () => readNumber(counter) > now + 2);
    const committed = (record?.error as { committed?: boolean } | undefined)?.committed;
    if (how === 'aborted' || !committed) {
      t.same(imagesBelow(`${treeDir}.gens`), [], 'no images were stranded');
      t.same(imagesBelow(`${dumpDir}.gens`), [], 'none set aside either');
      t.notOk(fs.existsSync(treeDir), 'and no checkpoint was committed');
    } else {
      // The deadline is a fixed time: the tree's dump may have been complete by then. Then its
      // images were committed, the error says so, and nothing else is left.
      t.match(
        record?.error,
        { committed: true, path: treeDir },
        'the images were complete: committed, and the error says so',
      );
      const generation = fs.realpathSync(treeDir);
      t.same(
        imagesBelow(`${treeDir}.gens`).filter((f) => !path.join(`${treeDir}.gens`, f).startsWith(generation)),
        [],
        'nothing else is left',
      );
    }
  });
}
