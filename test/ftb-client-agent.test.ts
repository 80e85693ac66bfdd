// The FTB client against the project's agent, every party a real process: the agent is a
// `crftb agent` child, publishers are child processes running lib/ftb/client.ts, the subscriber
// is this process.
import t, { type Test } from 'tap';
import { FtbClient, FtbEventHandle, type FtbReceivedEvent, type FtbSubscription } from '../lib/ftb/client';
import { CrftbProcess } from './helpers/crftb-process';
import { masksAtLeast } from './helpers/ftb-tree';
import { waitFor } from './helpers/wait';

// Stats every 100 ms: a test waits for the agent to know a subscription instead of sleeping.
const agentArgs = (port: number) => [
  'agent',
  '--port',
  String(port),
  '--advertise',
  '127.0.0.1',
  '--standalone',
  '--stats-interval',
  '100',
];

function collect(sub: FtbSubscription): FtbReceivedEvent[] {
  const got: FtbReceivedEvent[] = [];
  sub.on('event', (e) => got.push(e));
  return got;
}

async function publisher(t: Test, port: number, name: string) {
  const pub = CrftbProcess.fixture('ftb-client-process', []);
  t.teardown(() => pub.stop('SIGKILL'));
  await pub.waitFor((l) => l.event === 'ready');
  pub.command({
    op: 'connect',
    info: { eventSpace: 'CRFTB.TEST.PUB', clientName: name, jobId: 'job42' },
    options: {
      agentHost: '127.0.0.1',
      agentPort: port,
      hostAddress: '127.0.0.1',
      reconnectInitialMs: 10,
      reconnectMaxMs: 100,
    },
  });
  await pub.waitFor((l) => l.event === 'connected' || l.event === 'error');
  pub.command({
    op: 'declare',
    events: [
      { name: 'TEST_EVENT', severity: 'warning' },
      { name: 'OTHER', severity: 'info' },
    ],
  });
  await pub.waitFor((l) => l.event === 'declared');
  return pub;
}

async function published(pub: CrftbProcess, command: Record<string, unknown>) {
  const from = pub.lines.length;
  pub.command({ op: 'publish', ...command });
  return pub.waitFor((l) => l.event === 'published' || l.event === 'error', 20000, from);
}

t.test('callback and polling delivery across processes, with handles that compare equal', async (t) => {
  const agent = CrftbProcess.start(agentArgs(0));
  t.teardown(() => agent.stop());
  const { port } = await agent.listening();
  const sub = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.SUB', clientName: 'sub', jobId: 'job7', subscriptionStyle: 'FTB_SUBSCRIPTION_BOTH' },
    { agentHost: '127.0.0.1', agentPort: port },
  );
  t.teardown(() => sub.close());
  const callback = sub.subscribe('event_space=CRFTB.TEST.PUB, event_name=TEST_EVENT');
  const polling = sub.subscribe('severity=info', { kind: 'polling' });
  const got = collect(callback);

  const pub = await publisher(t, port, 'pub1');
  await masksAtLeast(agent, 2); // the agent has processed both REG_SUBSCRIPTIONs
  const p1 = await published(pub, { name: 'TEST_EVENT', count: 3, payload: 'hello-ftb' });
  const p2 = await published(pub, { name: 'OTHER', count: 1 });
  await waitFor('three callbacks', () => got.length === 3);
  t.match(got[0], {
    space: 'CRFTB.TEST.PUB',
    name: 'TEST_EVENT',
    severity: 'warning',
    clientName: 'pub1',
    jobId: 'job42',
    seqnum: 1,
    eventType: 1,
    sourcePid: pub.child.pid,
    hostname: '127.0.0.1',
  });
  t.equal(got[2].payload.subarray(0, 10).toString(), 'hello-ftb2');
  t.same(
    got.map((e) => e.seqnum),
    [1, 2, 3],
    'in order',
  );
  const published0 = new FtbEventHandle(Buffer.from((p1.handles as string[])[0], 'hex'));
  t.ok(published0.equals(got[0].handle!), "the publisher's handle equals the one rebuilt from the received event");
  t.notOk(published0.equals(got[1].handle!), 'a different seqnum is a different handle');

  let polled: FtbReceivedEvent | null = null;
  await waitFor('OTHER is polled (no callback matched it)', () => {
    polled = polling.poll();
    return polled !== null;
  });
  t.match(polled, { name: 'OTHER', severity: 'info', seqnum: 4 });
  t.ok((p2.handles as string[]).length === 1);
  t.match(sub.stats(), { received: 4, callbackDelivered: 3, pollQueued: 1, pollDropped: 0 });
});

t.test('polling queue overflow: drop-oldest as FTB, but counted', async (t) => {
  const agent = CrftbProcess.start(agentArgs(0));
  t.teardown(() => agent.stop());
  const { port } = await agent.listening();
  const sub = await FtbClient.connect(
    {
      eventSpace: 'CRFTB.TEST.SUB',
      clientName: 'poll4',
      subscriptionStyle: 'FTB_SUBSCRIPTION_POLLING',
      pollingQueueLength: 4,
    },
    { agentHost: '127.0.0.1', agentPort: port },
  );
  t.teardown(() => sub.close());
  const polling = sub.subscribe('event_name=TEST_EVENT');
  const pub = await publisher(t, port, 'flood');
  await masksAtLeast(agent, 1);
  await published(pub, { name: 'TEST_EVENT', count: 10, payload: 'n=' });
  await waitFor('all ten arrived (read promptly, never left in the socket)', () => sub.stats().received === 10);
  const seqs: number[] = [];
  for (let e = polling.poll(); e; e = polling.poll()) seqs.push(e.seqnum);
  t.same(seqs, [7, 8, 9, 10], 'the four newest remain (FTB: 7, 8, 9, 10)');
  t.match(sub.stats(), { pollQueued: 10, pollDropped: 6, pollQueueCapacity: 4, pollQueueLength: 0 });
});

t.test('a polling subscription is an async iterator that wakes when events arrive', async (t) => {
  const agent = CrftbProcess.start(agentArgs(0));
  t.teardown(() => agent.stop());
  const { port } = await agent.listening();
  const sub = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.SUB', clientName: 'iter', subscriptionStyle: 'FTB_SUBSCRIPTION_POLLING' },
    { agentHost: '127.0.0.1', agentPort: port },
  );
  t.teardown(() => sub.close());
  const polling = sub.subscribe('');
  const pub = await publisher(t, port, 'iterpub');
  await masksAtLeast(agent, 1);
  const publishing = published(pub, { name: 'OTHER', count: 5, intervalMs: 20 });
  const seen: number[] = [];
  for await (const e of polling) {
    seen.push(e.seqnum);
    if (seen.length === 5) break;
  }
  t.same(seen, [1, 2, 3, 4, 5]);
  await publishing;
});

t.test('losing the agent: reconnect, re-register, callbacks keep firing', async (t) => {
  const first = CrftbProcess.start(agentArgs(0));
  const { port } = await first.listening();
  const sub = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.SUB', clientName: 'survivor', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    { agentHost: '127.0.0.1', agentPort: port, reconnectInitialMs: 10, reconnectMaxMs: 100 },
  );
  t.teardown(() => sub.close());
  const got = collect(sub.subscribe('event_name=TEST_EVENT'));
  const pub = await publisher(t, port, 'pubr');
  await masksAtLeast(first, 1);
  await published(pub, { name: 'TEST_EVENT', count: 1 });
  await waitFor('delivered before the loss', () => got.length === 1);

  await first.stop('SIGKILL');
  await waitFor('the loss is noticed at once', () => !FtbClient.connectionStats().connected, 5000);
  const second = CrftbProcess.start(agentArgs(port));
  t.teardown(() => second.stop());
  await second.listening();
  await waitFor('reconnected to the new agent', () => FtbClient.connectionStats().reconnects >= 1, 10000);
  // the publisher reconnects on its own; until it has, its publishes fail (FTB_ERR_NETWORK_NO_ROUTE)
  let delivered = false;
  for (let i = 0; i < 50 && !delivered; i++) {
    await published(pub, { name: 'TEST_EVENT', count: 1 });
    delivered = await waitFor('the event', () => got.length >= 2, 200).then(
      () => true,
      () => false,
    );
  }
  t.ok(delivered, 'the callback fires again after the reconnect (FTB 0.6.2: never)');
  t.equal(got[got.length - 1].clientName, 'pubr');
  t.ok(FtbClient.connectionStats().losses >= 1, 'the loss is counted');
});
