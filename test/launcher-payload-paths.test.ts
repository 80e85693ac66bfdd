// Security: no path from an event payload is ever used as a file name. FTB has no
// authentication, so anyone who reaches an agent can publish launcher requests; a LauncherNode
// takes only a checkpoint name from them (one plain path component) and places the images below
// an image root of its own. Hostile requests (absolute paths, traversal, the old `{"d": dir}`
// form) are answered with a coded error and touch no file and no process; a well-formed request
// shows that the same node, tree and agent do write when asked properly.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { startAgent } from '../lib/ftb/agent';
import { FtbClient, type FtbReceivedEvent } from '../lib/ftb/client';
import { FTB_PAYLOAD_SIZE } from '../lib/ftb/types';
import { checkCheckpointName, JobCoordinator, LAUNCHER_EVENT_SPACE, LauncherNode } from '../lib/launcher';
import { decodeNodeAnswer } from '../lib/launcher/protocol';
import { fixtures, killStarted, readNumber, startDetached, tempDir, waitFor } from './helpers/detached';
import { ftbFence } from './helpers/ftb-fence';

t.teardown(killStarted);

const EINVAL = 22;
const EBADMSG = 74;

function payload(text: string): Buffer {
  const bytes = Buffer.alloc(FTB_PAYLOAD_SIZE);
  Buffer.from(text, 'utf8').copy(bytes);
  return bytes;
}

function listTree(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

t.test('a checkpoint name is one plain path component', async (t) => {
  for (const good of ['latest', 'gen1', 'job_7.b-2', 'A', 'x'.repeat(64)])
    t.equal(checkCheckpointName(good), good, `${good} is accepted`);
  const bad: unknown[] = [
    '',
    '.',
    '..',
    '../x',
    'a/b',
    '/abs',
    '.hidden',
    '-rf',
    'x'.repeat(65),
    'a\0b',
    'a b',
    'a\\b',
    'ü',
    'a\n',
    7,
    null,
  ];
  for (const name of bad)
    t.throws(() => checkCheckpointName(name), { code: 'EINVAL', errno: -EINVAL }, `${JSON.stringify(name)} is refused`);
});

t.test('a node needs an image root of its own, and plain job and node names', async (t) => {
  const ftb = { agentHost: '127.0.0.1', agentPort: 1 };
  await t.rejects(LauncherNode.start({ job: 'j', node: 'n', ftb } as never), { code: 'EINVAL' }, 'no imageRoot');
  await t.rejects(
    LauncherNode.start({ job: '../j', node: 'n', imageRoot: '/tmp', ftb }),
    { code: 'EINVAL' },
    'a job id that is a path',
  );
  await t.rejects(
    LauncherNode.start({ job: 'j', node: '..', imageRoot: '/tmp', ftb }),
    { code: 'EINVAL' },
    'a node name that is a path',
  );
});

t.test(
  "hostile launcher requests touch no file and no process; a proper one writes below the node's root",
  async (t) => {
    const work = tempDir('launch-paths');
    const root = path.join(work, 'root'); // the node's own image root
    const outside = path.join(work, 'outside'); // where the hostile requests point
    const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
    t.teardown(() => agent.close());
    const ftb = { agentHost: '127.0.0.1', agentPort: agent.address.port };

    const counter = path.join(work, 'worker.count');
    const worker = startDetached(path.join(fixtures, 'counter.js'), [counter], work);
    await waitFor('the worker to count', () => readNumber(counter) > 2);

    const node = await LauncherNode.start({ job: 'jobp', node: 'n1', imageRoot: root, ftb });
    t.teardown(() => node.close());
    node.addTree('worker', worker.pid);

    const mallory = await FtbClient.connect(
      {
        eventSpace: LAUNCHER_EVENT_SPACE,
        clientName: 'mallory',
        jobId: 'jobp',
        subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
      },
      ftb,
    );
    t.teardown(() => mallory.close());
    mallory.declare([
      { name: 'JOB_CHKPT_REQUEST', severity: 'info' },
      { name: 'JOB_RSTRT_REQUEST', severity: 'info' },
    ]);
    const answers: FtbReceivedEvent[] = [];
    mallory.subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=jobp`).on('event', (e: FtbReceivedEvent) => {
      if (e.name.startsWith('NODE_')) answers.push(e);
    });
    await ftbFence(ftb); // the agent has both subscriptions

    const hostile: Array<[string, number]> = [
      [JSON.stringify({ d: outside, n: ['n1'] }), EBADMSG], // the old request form: a directory
      [JSON.stringify({ c: outside, n: ['n1'] }), EINVAL], // an absolute path as the name
      [JSON.stringify({ c: path.relative(path.join(root, 'jobp'), outside), n: ['n1'] }), EINVAL], // ../outside
      [JSON.stringify({ c: '..', n: ['n1'] }), EINVAL],
      [JSON.stringify({ c: '.', n: ['n1'] }), EINVAL],
      [JSON.stringify({ c: `good/../../../${path.basename(outside)}`, n: ['n1'] }), EINVAL],
      [JSON.stringify({ c: ['a'], n: ['n1'] }), EBADMSG],
      ['not json at all', EBADMSG],
    ];
    for (const op of ['JOB_CHKPT_REQUEST', 'JOB_RSTRT_REQUEST']) {
      for (const [text] of hostile) mallory.publish(op, { eventType: 1, payload: payload(text) });
    }
    await waitFor('an answer to every hostile request', () => answers.length >= hostile.length * 2, 20000);
    const expected = [
      ...hostile.map(([, errno]) => ['NODE_CHKPT_ERROR', errno, 0]),
      ...hostile.map(([, errno]) => ['NODE_RSTRT_ERROR', errno, 0]),
    ];
    const got = answers.map((e) => {
      const a = decodeNodeAnswer(e.payload);
      return [e.name, a.errno, a.trees];
    });
    t.same(got, expected, 'each hostile request is answered with an error and its errno, in order, for no tree');
    t.notOk(fs.existsSync(outside), 'nothing was written where the requests pointed');
    t.same(listTree(root), [], "nothing was written below the node's image root either");
    t.same(node.history, [], 'the node checkpointed and restarted nothing');
    t.same(node.localTrees(), [{ name: 'worker', pid: worker.pid }], 'its tree is the same process');
    const before = readNumber(counter);
    await waitFor('the worker to keep counting', () => readNumber(counter) > before + 2);

    // The control: the same node, tree and agent, asked properly, do write - below the node's root.
    const coordinator = await JobCoordinator.start({ job: 'jobp', ftb });
    t.teardown(() => coordinator.close());
    await t.rejects(
      coordinator.checkpoint({ nodes: ['n1'], name: '../outside' }),
      { code: 'EINVAL', errno: -EINVAL },
      'the coordinator refuses a path as a name before publishing',
    );
    await ftbFence(ftb); // and the coordinator's
    const result = await coordinator.checkpoint({ nodes: ['n1'], name: 'good', timeoutMs: 60000 });
    t.equal(result.ok, true, `a proper request succeeds: ${JSON.stringify({ ...result, request: undefined })}`);
    const treeDir = path.join(root, 'jobp', 'good', 'n1', 'tree-worker');
    t.ok(
      fs.existsSync(path.join(treeDir, 'inventory.img')),
      'its images are at <imageRoot>/<job>/<name>/<node>/tree-<T>',
    );
    t.equal(fs.statSync(path.join(root, 'jobp', 'good', 'n1')).mode & 0o777, 0o700, 'the node directory is private');
    t.notOk(fs.existsSync(outside), 'and still nothing outside the root');
    t.match(
      node.history,
      [{ op: 'checkpoint', name: 'good', dir: path.join(root, 'jobp', 'good', 'n1'), ok: true, errno: 0 }],
      'the node records the one checkpoint it made',
    );
  },
);
