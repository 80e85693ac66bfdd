// A launcher plugin across three hosts (network namespaces made and removed here): host 0 runs
// the bootstrap server, an agent and the job coordinator; hosts 1 and 2 each run an agent and a
// launcher node with two process trees of its own (each a single counter: a tree of one). The job
// is checkpointed as one (a request event, one answer per node, one job-level result), every tree
// is killed, and the job is restarted: the trees count on from their images. A BLCR-event watcher
// on host 0 sees each tree's CHKPT_BEGIN/END and RSTRT_BEGIN/END cross the agent tree.
import t from 'tap';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CrftbProcess } from './helpers/crftb-process';
import { startAgentTree } from './helpers/ftb-tree';
import { TestNetwork } from './helpers/netns';
import { waitFor } from './helpers/wait';

const network = new TestNetwork('launch', 3, '10.214.0');
const hosts = network.hosts;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const refused = network.setup();
if (refused) {
  t.test('launcher plugin across network namespaces', { skip: refused }, async () => {});
} else {
  t.teardown(() => network.teardown());
  t.test('a two-node job is checkpointed, killed and restarted as one', async (t) => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'crftb-launch-'));
    const procs: CrftbProcess[] = [];
    t.teardown(async () => {
      for (const p of procs.reverse()) {
        if (p.child.stdin?.writable) p.command({ op: 'quit' });
      }
      await sleep(300);
      for (const p of procs) await p.stop('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    });
    const started = (p: CrftbProcess) => {
      procs.push(p);
      return p;
    };

    const { agents } = await startAgentTree({ hosts, attachTimeoutMs: 60000, own: started });
    const agentPorts = agents.map((a) => a.port);

    const watcher = started(
      CrftbProcess.fixture('ftb-raw-client-process', [hosts[0].ip, String(agentPorts[0]), '43001'], {
        netns: hosts[0].ns,
      }),
    );
    await watcher.waitFor((l) => l.event === 'ready');
    const who = { eventSpace: 'CRFTB.TEST.WATCH', clientName: 'watch' };
    watcher.command({ op: 'register', who });
    watcher.command({ op: 'subscribe', who, subscription: 'event_space=FTB.checkpoint_sw.blcr' });

    const nodes = [1, 2].map((i) => {
      const node = started(
        CrftbProcess.fixture('launcher-node', ['job7', `n${i}`, hosts[i].ip, String(agentPorts[i]), work], {
          netns: hosts[i].ns,
        }),
      );
      return { name: `n${i}`, node, trees: [`w${2 * (i - 1)}`, `w${2 * (i - 1) + 1}`] };
    });
    for (const n of nodes) {
      // Start-up (Node, TypeScript loader, addon, FTB handshake) took over 15 s at load 12-14.
      await n.node.waitFor((l) => l.event === 'ready', 60000);
      n.node.command({ op: 'start', trees: n.trees });
      await n.node.waitFor((l) => l.event === 'trees');
    }
    const coordinator = started(
      CrftbProcess.fixture('launcher-coordinator', ['job7', hosts[0].ip, String(agentPorts[0])], {
        netns: hosts[0].ns,
      }),
    );
    await coordinator.waitFor((l) => l.event === 'ready', 60000);
    await sleep(500); // subscriptions travel the tree before the first request

    const count = (node: string, tree: string) =>
      Number(readFileSync(path.join(work, `${node}-${tree}.count`), 'utf8') || 0);
    const images = path.join(work, 'images');
    coordinator.command({ op: 'checkpoint', nodes: ['n1', 'n2'], name: 'gen1', timeoutMs: 90000 });
    const checkpointed = (await coordinator.waitFor((l) => l.event === 'result', 100000)).result;
    t.equal(checkpointed.ok, true, `job checkpoint succeeded: ${JSON.stringify(checkpointed)}`);
    t.same(
      checkpointed.nodes.map((n: { node: string; trees: number }) => [n.node, n.trees]).sort(),
      [
        ['n1', 2],
        ['n2', 2],
      ],
      'both nodes answered for two trees each',
    );
    t.same(
      checkpointed.nodes.map((n: { host: string }) => n.host).sort(),
      [hosts[1].ip, hosts[2].ip],
      'answers came from the two hosts',
    );
    for (const n of nodes)
      for (const tree of n.trees)
        t.ok(
          statSync(path.join(images, 'job7', 'gen1', n.name, `tree-${tree}`)).isDirectory(),
          `images of ${n.name} tree ${tree} below the node's own image root`,
        );

    const seen = (name: string) => watcher.lines.filter((l) => l.event === 'notify' && l.name === name).length;
    await waitFor('four CHKPT_ENDs at host 0', () => seen('CHKPT_END') >= 4, 10000).catch(() => {});
    t.equal(seen('CHKPT_BEGIN'), 4, 'one CHKPT_BEGIN per tree reached host 0');
    t.equal(seen('CHKPT_END'), 4, 'one CHKPT_END per tree reached host 0');

    for (const n of nodes) {
      n.node.command({ op: 'kill-trees' });
      await n.node.waitFor((l) => l.event === 'killed');
    }
    const atKill = nodes.flatMap((n) => n.trees.map((tree) => count(n.name, tree)));

    coordinator.command({ op: 'restart', nodes: ['n1', 'n2'], name: 'gen1', timeoutMs: 90000 });
    const restarted = (await coordinator.waitFor((l) => l.event === 'result' && l.result.op === 'restart', 100000))
      .result;
    if (!restarted.ok) {
      const served = nodes.flatMap((n) => n.node.lines.filter((l) => l.event === 'served' && !l.record.ok));
      t.comment(`what the nodes said: ${JSON.stringify(served.map((l) => l.record.error))}`);
    }
    t.equal(restarted.ok, true, `job restart succeeded: ${JSON.stringify(restarted)}`);
    // Each tree counts on from its images (below where it was killed): its count changes, then
    // goes on growing.
    const counts = () => nodes.flatMap((n) => n.trees.map((tree) => count(n.name, tree)));
    let resumed: number[] = [];
    const restored = await waitFor(
      'every tree to write a count of its own',
      () => counts().every((c, i) => c !== atKill[i]),
      20000,
    )
      .then(() => {
        resumed = counts();
        return waitFor('every tree to count on', () => counts().every((c, i) => c > resumed[i] + 2), 20000);
      })
      .then(
        () => true,
        () => false,
      );
    t.ok(
      restored,
      `every tree counts again after the restart (killed at ${atKill}; resumed at ${resumed}; now ${counts()})`,
    );
    await waitFor('four RSTRT_ENDs at host 0', () => seen('RSTRT_END') >= 4, 10000).catch(() => {});
    t.equal(seen('RSTRT_END'), 4, 'one RSTRT_END per tree');
  });
}
