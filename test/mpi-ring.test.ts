// Launcher plugins checkpoint real MPI jobs (issue 15): a 3-rank token ring (test/fixtures/mpi/
// ring.c, 100 ms per hop) under MPICH and under Open MPI, started detached; a LauncherNode holds
// the launcher's whole tree, a JobCoordinator checkpoints the job with kill part-way and restarts
// it at once, over a crftb agent on loopback. The job must end as if never interrupted: every
// token exactly once across the ranks' files, rank 0's total right, and the FTB job events seen.
// The negative case: a node whose dump fails leaves the job running and says why.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { JobCoordinator, LauncherNode, type TreeOptions, treeDirectory } from '../lib/launcher';
import { alive, killStarted, settled, tempDir, waitFor } from './helpers/detached';
import { ftbFence } from './helpers/ftb-fence';
import { loopbackJob } from './helpers/launcher-job';
import { adoptTree, compileRing, missing, MPIS, ringResult, startRing, tokensSeen, type Mpi } from './helpers/mpi';

t.teardown(killStarted);

const RANKS = 3;
const TOKENS = 60;
const EXPECTED = `${TOKENS} ${(TOKENS * (TOKENS + 1)) / 2}`;

function exactlyOnce(tokens: number[]): { missing: number[]; repeated: number[] } {
  const counts = new Map<number, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  const all = Array.from({ length: TOKENS }, (_, i) => i + 1);
  return { missing: all.filter((n) => !counts.has(n)), repeated: [...counts].filter(([, c]) => c > 1).map(([n]) => n) };
}

// A ring under `mpi` passing tokens, one LauncherNode (n1) holding the launcher's tree with
// `tree`, and a coordinator, all on a loopback agent that has their subscriptions.
async function startJob(t: Test, mpi: Mpi, job: string, tree: TreeOptions) {
  const work = tempDir('mpi-ring');
  const root = path.join(work, 'ckpt');
  const { ftb, events } = await loopbackJob(t, job);
  const ring = startRing(mpi, compileRing(mpi, work), work, RANKS, TOKENS);
  await waitFor(`the ${mpi.name} ring to pass 8 tokens`, () => tokensSeen(work).length >= 8, 60000);
  adoptTree(ring.pid);
  // The killed launcher's orphans wait for init to reap them (1-3 s here): the restart waits for
  // their pids, bounded widely so a loaded machine's slow init does not fail it.
  const node = await LauncherNode.start({
    job,
    node: 'n1',
    imageRoot: root,
    ftb,
    checkpoint: { kill: true, ftb: false },
    restart: { ftb: false, reapWaitMs: 30_000 },
  });
  t.teardown(() => node.close());
  node.addTree('launcher', ring.pid, tree);
  const coordinator = await JobCoordinator.start({ job, ftb });
  t.teardown(() => coordinator.close());
  await ftbFence(ftb); // the agent has every subscription
  return { work, root, events, ring, node, coordinator };
}

for (const mpi of MPIS) {
  const skip = missing(mpi);
  t.test(
    `${mpi.name}: the launcher's tree is checkpointed with kill and restarted; the ring ends as if never stopped`,
    { skip: skip ?? false },
    async (t) => {
      const job = mpi.name === 'MPICH' ? 'ringmpich' : 'ringompi';
      const { work, root, events, ring, node, coordinator } = await startJob(t, mpi, job, mpi.tree);

      const checkpointed = await coordinator.checkpoint({ nodes: ['n1'], name: 'gen1', timeoutMs: 120_000 });
      t.match(
        checkpointed,
        { ok: true, errno: 0, committed: true, nodes: [{ node: 'n1', ok: true, trees: 1, phase: 'commit' }] },
        `checkpointed: ${node.history.at(-1)?.error?.message ?? 'ok'}`,
      );
      const atKill = tokensSeen(work).length;
      t.equal(ringResult(work), null, 'the ring had not ended when it was killed');
      t.notOk(alive(ring.pid), 'the launcher was killed after its images were committed');
      t.ok(
        fs.existsSync(path.join(treeDirectory(root, job, 'gen1', 'n1', 'launcher'), 'crftb-manifest')),
        'its images are committed under tree-launcher',
      );

      const restarted = await coordinator.restart({ nodes: ['n1'], name: 'gen1', timeoutMs: 120_000 });
      t.match(restarted, { ok: true, errno: 0 }, `restarted: ${node.history.at(-1)?.error?.message ?? 'ok'}`);
      const [{ pid: restored, exited }] = node.localTrees();
      adoptTree(restored);
      t.equal(restored, ring.pid, 'the launcher is back with its own pid');
      t.comment(
        `${mpi.name}: job checkpoint ${checkpointed.seconds.toFixed(2)} s, job restart ${restarted.seconds.toFixed(2)} s (incl. waiting for the killed pids to be reaped), ${atKill} of ${TOKENS} tokens passed at the kill`,
      );

      await waitFor(`the restored ${mpi.name} ring to end`, () => ringResult(work) !== null, 60_000);
      t.same(
        await settled(exited!),
        { code: 0, signal: null },
        "the restored launcher is the node's child: its exit status 0 reaches the node",
      );
      t.equal(ringResult(work), EXPECTED, "rank 0's result: the last token and the sum of every rank's tokens");
      t.same(
        exactlyOnce(tokensSeen(work)),
        { missing: [], repeated: [] },
        `every token 1..${TOKENS} exactly once across the ranks' files`,
      );
      await waitFor(
        'the job events',
        () => events.includes('JOB_CHKPT_END') && events.includes('JOB_RSTRT_END'),
        10_000,
      );
      t.ok(
        [
          'JOB_CHKPT_REQUEST',
          'NODE_CHKPT_END',
          'JOB_CHKPT_COMMIT',
          'NODE_COMMIT_END',
          'JOB_CHKPT_END',
          'JOB_RSTRT_REQUEST',
          'NODE_RSTRT_END',
          'JOB_RSTRT_END',
        ].every((e) => events.includes(e)),
        `the FTB job events arrived: ${events.join(', ')}`,
      );
    },
  );
}

const mpich = MPIS.find((m) => m.name === 'MPICH')!;
t.test(
  "a node whose dump fails leaves the job running and says why (MPICH's tree without ghostLimit)",
  { skip: missing(mpich) ?? false },
  async (t) => {
    const job = 'ringfail';
    const { work, root, events, ring, node, coordinator } = await startJob(t, mpich, job, {
      ...mpich.tree,
      ghostLimit: undefined,
    });

    const result = await coordinator.checkpoint({ nodes: ['n1'], name: 'gen1', timeoutMs: 120_000 });
    t.match(
      result,
      { ok: false, committed: false, nodes: [{ node: 'n1', ok: false, phase: 'dump' }] },
      `the job checkpoint failed with errno ${result.errno}`,
    );
    t.not(result.errno, 0, 'with an errno');
    const record = node.history.at(-1);
    t.match(
      record?.error?.message,
      /Can't dump ghost file \/dev\/shm\/ucx_shm_posix_\w+ of \d+ size, increase limit/,
      `the node says why: ${record?.error?.message}`,
    );
    t.ok(alive(ring.pid), 'the launcher was not killed');
    t.notOk(fs.existsSync(treeDirectory(root, job, 'gen1', 'n1', 'launcher')), 'no checkpoint was committed');
    await waitFor('the ring to end on its own', () => ringResult(work) !== null, 60_000);
    t.equal(ringResult(work), EXPECTED, 'the job ran to its right end');
    t.same(exactlyOnce(tokensSeen(work)), { missing: [], repeated: [] }, 'every token exactly once');
    await waitFor('the job error event', () => events.includes('JOB_CHKPT_ERROR'), 10_000);
    t.ok(events.includes('NODE_CHKPT_ERROR'), 'the node published its error');
  },
);
