// The launcher's two-phase job checkpoint (issue 15 §2): every node dumps and leaves its
// processes stopped; only when every node succeeded does the coordinator tell them to commit
// (then kill); if any node fails, every node resumes and nothing is committed, so the job is not
// lost; a node that hears no decision resumes on its own. Two LauncherNodes on one loopback
// agent; each node's tree is a detached counter started here, a tree of one (one holds a TCP
// connection to a server in this process, which a dump with connections: 'fail' refuses).
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { JobCoordinator, LAUNCHER_EVENT_SPACE, LauncherNode, nodeDirectory } from '../lib/launcher';
import { pendingDirectory } from '../lib/launcher/node';
import { encodeNodeAnswer, encodeRequest, NODE_EVENTS } from '../lib/launcher/protocol';
import { FtbClient, type FtbReceivedEvent } from '../lib/ftb/client';
import { CrftbProcess } from './helpers/crftb-process';
import {
  adopt,
  alive,
  killStarted,
  readNumber,
  startConnectedClient,
  startCounter,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import { ftbFence } from './helpers/ftb-fence';
import { loopbackJob } from './helpers/launcher-job';

t.teardown(killStarted);

async function setUp(t: Test, job: string) {
  const work = tempDir('launch-2pc');
  return { work, root: path.join(work, 'images'), ...(await loopbackJob(t, job)) };
}

// A node whose one tree (a client holding a TCP connection) fails its dump: connections: 'fail'.
async function failingNode(
  t: Test,
  job: string,
  work: string,
  root: string,
  ftb: { agentHost: string; agentPort: number },
) {
  const badCounter = path.join(work, 'bad.count');
  const bad = await startConnectedClient(work, badCounter);
  t.teardown(() => bad.close());
  const node = await LauncherNode.start({
    job,
    node: 'n2',
    imageRoot: root,
    ftb,
    checkpoint: { kill: true, ftb: false, connections: 'fail' },
  });
  t.teardown(() => node.close());
  node.addTree('bad', bad.pid);
  return { node, bad, badCounter };
}

const state = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat[stat.lastIndexOf(')') + 2];
};
const imagesBelow = (dir: string) =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.img'))
    : [];

t.test(
  'one node fails its dump: the other resumes, nothing is committed or killed, each answer says which phase',
  async (t) => {
    const { work, root, ftb, events } = await setUp(t, 'job2f');
    const good = await startCounter(tempDir('launch-2pc-counter'));

    const n1 = await LauncherNode.start({
      job: 'job2f',
      node: 'n1',
      imageRoot: root,
      ftb,
      checkpoint: { kill: true, ftb: false },
    });
    t.teardown(() => n1.close());
    n1.addTree('good', good.pid);
    const { node: n2, bad, badCounter } = await failingNode(t, 'job2f', work, root, ftb);
    const coordinator = await JobCoordinator.start({ job: 'job2f', ftb });
    t.teardown(() => coordinator.close());
    await ftbFence(ftb); // the agent has every subscription

    const result = await coordinator.checkpoint({ nodes: ['n1', 'n2'], name: 'gen1', timeoutMs: 60_000 });
    await n1.idle();
    await n2.idle();
    t.match(result, { ok: false, committed: false, missing: [] }, 'the job checkpoint failed and was not committed');
    t.match(
      result.nodes,
      [
        { node: 'n1', ok: true, phase: 'dump', errno: 0 },
        { node: 'n2', ok: false, phase: 'dump' },
      ],
      'n1 dumped, n2 failed in the dump phase',
    );
    t.equal(result.errno, result.nodes[1].errno, "the job's errno is n2's");
    t.match(
      n2.history.at(-1),
      { phase: 'dump', ok: false, error: { message: /TCP/ } },
      `n2 says why: ${n2.history.at(-1)?.error?.message}`,
    );
    t.match(n1.history.at(-1), { phase: 'decision', ok: false, errno: 125 }, 'n1 was told to cancel after its dump');
    for (const [pid, file] of [
      [good.pid, good.counter],
      [bad.pid, badCounter],
    ] as const) {
      t.ok(alive(pid), `counter ${pid} was not killed`);
      const now = readNumber(file);
      await waitFor(`counter ${pid} to count on`, () => readNumber(file) > now + 2);
    }
    for (const node of ['n1', 'n2']) {
      t.notOk(fs.existsSync(nodeDirectory(root, 'job2f', 'gen1', node)), `${node}: no checkpoint was committed`);
      t.same(imagesBelow(pendingDirectory(root, 'job2f', 'gen1', node)), [], `${node}: no images left set aside`);
    }
    await waitFor('the job error event', () => events.includes('JOB_CHKPT_ERROR'), 10_000);
    t.ok(
      events.includes('JOB_CANCEL') && !events.includes('JOB_CHKPT_COMMIT'),
      `cancelled, never committed: ${events.join(', ')}`,
    );
  },
);

t.test('every node dumps: the coordinator commits, the nodes kill, and the job restarts', async (t) => {
  const { root, ftb, events } = await setUp(t, 'job2c');
  const counters = [
    await startCounter(tempDir('launch-2pc-counter')),
    await startCounter(tempDir('launch-2pc-counter')),
  ];
  const nodes = await Promise.all(
    ['n1', 'n2'].map((node) =>
      LauncherNode.start({
        job: 'job2c',
        node,
        imageRoot: root,
        ftb,
        checkpoint: { kill: true, ftb: false },
        restart: { ftb: false },
      }),
    ),
  );
  for (const n of nodes) t.teardown(() => n.close());
  nodes.forEach((n, i) => n.addTree(`counter-${i}`, counters[i].pid));
  const coordinator = await JobCoordinator.start({ job: 'job2c', ftb });
  t.teardown(() => coordinator.close());
  await ftbFence(ftb);

  const result = await coordinator.checkpoint({ nodes: ['n1', 'n2'], name: 'gen1', timeoutMs: 60_000 });
  t.match(
    result,
    {
      ok: true,
      errno: 0,
      committed: true,
      nodes: [
        { node: 'n1', ok: true, phase: 'commit' },
        { node: 'n2', ok: true, phase: 'commit' },
      ],
    },
    'both nodes committed',
  );
  for (const c of counters) t.notOk(alive(c.pid), `counter ${c.pid} was killed after the commit`);
  for (const node of ['n1', 'n2']) {
    t.ok(
      fs.existsSync(
        path.join(
          nodeDirectory(root, 'job2c', 'gen1', node),
          `tree-counter-${node === 'n1' ? 0 : 1}`,
          'crftb-manifest',
        ),
      ),
      `${node}'s images are the checkpoint`,
    );
    t.notOk(fs.existsSync(pendingDirectory(root, 'job2c', 'gen1', node)), `${node}: nothing left set aside`);
  }
  for (const c of counters) await waitReaped(c.pid);
  const restarted = await coordinator.restart({ nodes: ['n1', 'n2'], name: 'gen1', timeoutMs: 60_000 });
  t.match(
    restarted,
    { ok: true, nodes: [{ phase: 'restart' }, { phase: 'restart' }] },
    'the job restarts from the committed images',
  );
  for (const c of counters) {
    adopt(c.pid);
    const now = readNumber(c.counter);
    await waitFor('the restored counter to count on', () => readNumber(c.counter) > now + 2);
  }
  t.ok(
    ['JOB_CHKPT_REQUEST', 'NODE_CHKPT_END', 'JOB_CHKPT_COMMIT', 'NODE_COMMIT_END', 'JOB_CHKPT_END'].every((e) =>
      events.includes(e),
    ),
    `the events of both phases: ${events.join(', ')}`,
  );
});

t.test('a node that hears no decision resumes its processes on its own and drops the images', async (t) => {
  const { root, ftb, watcher, events } = await setUp(t, 'job2d');
  const counter = await startCounter(tempDir('launch-2pc-counter'));
  const node = await LauncherNode.start({
    job: 'job2d',
    node: 'n1',
    imageRoot: root,
    ftb,
    checkpoint: { kill: true, ftb: false },
    decisionTimeoutMs: 3000,
  });
  t.teardown(() => node.close());
  node.addTree('counter', counter.pid);
  // A coordinator that asks and then never decides (it died): the watcher publishes the request.
  watcher.declare([{ name: 'JOB_CHKPT_REQUEST', severity: 'info' }]);
  await ftbFence(ftb);
  watcher.publish('JOB_CHKPT_REQUEST', {
    eventType: 1,
    payload: encodeRequest({ op: 'checkpoint', name: 'gen1', nodes: ['n1'] }),
  });
  await waitFor('the node to answer its dump', () => events.includes('NODE_CHKPT_END'), 30_000);
  t.equal(state(counter.pid), 'T', 'the counter is stopped while the node waits for the decision');
  await node.idle();
  t.match(
    node.history.at(-1),
    { phase: 'decision', ok: false, errno: 110, error: { message: /decisionTimeoutMs/ } },
    'no decision: ETIMEDOUT',
  );
  t.ok(alive(counter.pid), 'the counter was not killed');
  const now = readNumber(counter.counter);
  await waitFor('the counter to count on', () => readNumber(counter.counter) > now + 2);
  t.notOk(fs.existsSync(nodeDirectory(root, 'job2d', 'gen1', 'n1')), 'nothing was committed');
  t.same(imagesBelow(pendingDirectory(root, 'job2d', 'gen1', 'n1')), [], 'and the images set aside are gone');
});

// FTB has no authentication (README "Security"): any client on the job's FTB network may publish
// as any node. A forged NODE_CHKPT_END in the failing node's name arrives first; the node's real
// NODE_CHKPT_ERROR comes before the other node (a client of this test, answering only then) has
// answered, so the decision is not taken yet: the coordinator keeps the ERROR over the END and
// cancels. (Had every node answered before the real ERROR arrived, the forged END would have
// decided: the deployment must keep the agents to the job's hosts.) A forger never names a path
// or a process: nodes write below their own imageRoot and touch only their registered trees.
t.test("a forged NODE_CHKPT_END in a failing node's name does not hide its real NODE_CHKPT_ERROR", async (t) => {
  const { work, root, ftb, events } = await setUp(t, 'job2x');
  const { node: n2, bad } = await failingNode(t, 'job2x', work, root, ftb);
  // The forger: a client in a process of its own calling itself n2, answering every request at once.
  const forger = CrftbProcess.fixture('launcher-forger', [String(ftb.agentPort), 'job2x', 'n2']);
  t.teardown(() => forger.stop('SIGKILL'));
  await forger.waitFor((l) => l.event === 'subscribed');
  // n1: answers END once n2's real ERROR is out, so the coordinator is still collecting then.
  const n1 = await FtbClient.connect(
    {
      eventSpace: LAUNCHER_EVENT_SPACE,
      clientName: 'n1',
      jobId: 'job2x',
      subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
    },
    ftb,
  );
  t.teardown(() => n1.close());
  n1.declare(NODE_EVENTS);
  let request: Buffer | null = null;
  n1.subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=job2x, event_name=JOB_CHKPT_REQUEST`).on(
    'event',
    (e: FtbReceivedEvent) => (request = e.handle!.bytes),
  );
  n1.subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=job2x, event_name=NODE_CHKPT_ERROR`).on('event', () =>
    n1.publish('NODE_CHKPT_END', {
      eventType: 2,
      payload: encodeNodeAnswer({ requestHandle: request!, errno: 0, trees: 1 }),
    }),
  );
  const coordinator = await JobCoordinator.start({ job: 'job2x', ftb });
  t.teardown(() => coordinator.close());
  await ftbFence(ftb);

  const result = await coordinator.checkpoint({ nodes: ['n1', 'n2'], name: 'gen1', timeoutMs: 60_000 });
  await n2.idle();
  await forger.waitFor((l) => l.event === 'forged');
  const order = events.filter((e) => e.startsWith('NODE_CHKPT_'));
  t.same(order.slice(0, 2), ['NODE_CHKPT_END', 'NODE_CHKPT_ERROR'], `the forged END came first: ${events.join(', ')}`);
  t.match(n2.history.at(-1), { phase: 'dump', ok: false }, 'the real n2 failed its dump');
  t.match(
    result,
    {
      ok: false,
      committed: false,
      nodes: [
        { node: 'n1', ok: true },
        { node: 'n2', ok: false, phase: 'dump', errno: n2.history.at(-1)!.errno },
      ],
    },
    "the coordinator kept n2's ERROR and did not commit",
  );
  await waitFor('the job error event', () => events.includes('JOB_CHKPT_ERROR'), 10_000);
  t.ok(events.includes('JOB_CANCEL') && !events.includes('JOB_CHKPT_COMMIT'), 'cancelled, never committed');
  t.ok(alive(bad.pid), "n2's process runs on");
  t.notOk(fs.existsSync(nodeDirectory(root, 'job2x', 'gen1', 'n2')), 'nothing was committed');
});
