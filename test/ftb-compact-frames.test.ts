// Compact frames on real TCP (README, "Compact frames"): crftb's client and agent agree on them
// inside FTB's handshake and either can decline; an event reaches every subscriber with the same
// bytes whatever framing its publisher and each subscriber use; and since FTB has no
// authentication, a peer that breaks compact framing costs its own connection only (the agent
// closes it, a client reconnects), never the process or anyone else's events.
import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import { startAgent, type AgentOptions } from '../lib/ftb/agent';
import { FtbClient, type FtbReceivedEvent } from '../lib/ftb/client';
import { ftbRules, type WireObject } from '../lib/ftb/native';
import { CrftbProcess } from './helpers/crftb-process';
import { RawClient, honestPair } from './helpers/ftb-raw-client';
import { startRecordingAgent } from './helpers/ftb-recording-agent';
import { waitFor } from './helpers/wait';

const { compact } = ftbRules;
const PUB = { eventSpace: 'FTB.TEST.PUB', clientName: 'publisher_15chr', jobId: 'job_fifteen_chr' };
const SUB = { eventSpace: 'FTB.TEST.SUB', clientName: 'sub' };

async function standalone(t: Test, options: AgentOptions = {}) {
  const agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1', ...options });
  agent.unref();
  t.teardown(() => agent.close());
  return agent;
}

async function raw(t: Test, port: number, pid: number, offer: boolean) {
  const c = await RawClient.connect(port, pid, '127.0.0.1', { compact: offer });
  t.teardown(() => c.close());
  return c;
}

/** A crftb client in a process of its own, connected with `options`; resolves its connection stats. */
async function childConnectionStats(t: Test, port: number, options: Record<string, unknown>) {
  const child = CrftbProcess.fixture('ftb-client-process', []);
  t.teardown(() => child.stop('SIGKILL'));
  await child.waitFor((l) => l.event === 'ready');
  child.command({
    op: 'connect',
    info: { eventSpace: 'FTB.TEST.CHILD', clientName: 'child' },
    options: { agentHost: '127.0.0.1', agentPort: port, hostAddress: '127.0.0.1', ...options },
  });
  await child.waitFor((l) => l.event === 'connected');
  child.command({ op: 'stats' });
  return (await child.waitFor((l) => l.event === 'stats')).connection;
}

t.test('crftb peers agree on compact frames, and either side can decline', async (t) => {
  const agent = await standalone(t);
  const declining = await standalone(t, { compactFrames: false });
  t.equal((await childConnectionStats(t, agent.address.port, {})).compactFrames, true, 'both offer: compact');
  t.equal(
    (await childConnectionStats(t, agent.address.port, { compactFrames: false })).compactFrames,
    false,
    'the client declines: FTB framing',
  );
  t.equal(
    (await childConnectionStats(t, declining.address.port, {})).compactFrames,
    false,
    'the agent declines: FTB framing',
  );
  t.equal(
    (await raw(t, agent.address.port, 5001, false)).compact,
    false,
    'a peer that does not offer (FTB) is not answered with the mark',
  );
  t.equal((await raw(t, agent.address.port, 5002, true)).compact, true, 'a raw peer that offers is');
});

t.test('every event arrives with the same bytes whatever framing each side uses', async (t) => {
  const agent = await standalone(t);
  const port = agent.address.port;
  const subs = [await raw(t, port, 6001, true), await raw(t, port, 6002, false)];
  const pubs = [await raw(t, port, 6003, true), await raw(t, port, 6004, false)];
  t.same(
    [...subs, ...pubs].map((c) => c.compact),
    [true, false, true, false],
    'compact, FTB, compact, FTB',
  );
  for (const s of subs) {
    s.register(SUB);
    s.subscribe(SUB, 'event_space=FTB.TEST.PUB');
  }
  for (const p of pubs) p.register(PUB);
  const js = await FtbClient.connect(
    { eventSpace: 'FTB.TEST.JS', clientName: 'js', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    { agentHost: '127.0.0.1', agentPort: port, hostAddress: '127.0.0.1' },
  );
  t.teardown(() => js.close());
  t.equal(FtbClient.connectionStats().compactFrames, true, "crftb's client in this process uses compact frames");
  const received: FtbReceivedEvent[] = [];
  js.subscribe('event_space=FTB.TEST.PUB, event_name=EDGE').on('event', (e) => received.push(e));

  // Subscriptions travel on other connections than the events: probe until all have them.
  const probed = [false, false];
  let jsProbed = false;
  js.subscribe('event_space=FTB.TEST.PUB, event_name=PROBE').on('event', () => (jsProbed = true));
  for (let i = 0; i < 100 && !(probed.every(Boolean) && jsProbed); i++) {
    pubs[0].publish(PUB, 'PROBE', 'info', 1);
    for (const [k, s] of subs.entries()) if (await s.next(100)) probed[k] = true;
  }
  t.ok(probed.every(Boolean) && jsProbed, 'every subscriber has its subscription in');
  for (const s of subs) while (await s.next(100));

  const payloads = [
    Buffer.from(crypto.randomBytes(368).map((b) => b | 1)), // no zero byte anywhere
    Buffer.concat([Buffer.from('short'), Buffer.alloc(363)]), // trailing zeros, left out of compact frames
    Buffer.alloc(368), // all zero
    Buffer.concat([Buffer.from(crypto.randomBytes(367).map((b) => b | 1)), Buffer.alloc(1)]),
  ];
  for (const p of pubs) for (const payload of payloads) p.publish(PUB, 'EDGE', 'fatal', 2, payload);
  const copies = await Promise.all(
    subs.map(async (s) => {
      const got: WireObject[] = [];
      while (got.length < 8) {
        const m = await s.next(10000);
        if (!m) break;
        got.push(m);
      }
      return got;
    }),
  );
  t.equal(copies[0].length, 8, 'the compact subscriber got all 8 events');
  t.equal(copies[1].length, 8, 'the FTB-framed subscriber got all 8 events');
  const eventAndSource = (m: WireObject) =>
    Object.fromEntries(Object.entries(m).filter(([k]) => k.startsWith('event.') || k.startsWith('src.')));
  t.same(
    copies[0].map(eventAndSource),
    copies[1].map(eventAndSource),
    'the same events, field for field, in the same order',
  );
  t.same(
    copies[0].map((m) => (m['event.payload'] as Buffer).toString('hex')),
    [...payloads, ...payloads].map((b) => b.toString('hex')),
    'all 368 payload bytes of each, trailing zeros included',
  );
  t.same(
    copies[0].map((m) => [m['event.event_name'], m['event.client_name'], m['event.client_jobid'], m['event.severity']]),
    Array(8).fill(['EDGE', PUB.clientName, PUB.jobId, 'fatal']),
    'strings that fill their fields (15 of 16 bytes)',
  );
  await waitFor('the JS listener to get the 8 events', () => received.length >= 8);
  t.same(
    received.map((e) => e.payload.toString('hex')),
    [...payloads, ...payloads].map((b) => b.toString('hex')),
    'the JS listener (compact) got the same payloads',
  );
});

/** `frame` with its length field set to `length`. */
function withLength(frame: Buffer, length: number): Buffer {
  const out = Buffer.from(frame);
  out.writeUInt16LE(length, 0);
  return out;
}

t.test('a peer that breaks compact framing is closed; everyone else keeps exchanging', async (t) => {
  const agent = await standalone(t);
  const port = agent.address.port;
  const { sub, pub, exchange } = await honestPair(t, port, 7001, { compact: true });
  t.ok(sub.compact && pub.compact, 'the honest pair uses compact frames');

  const good = compact.encode(pub.notifyFrame(PUB, 'GOOD'));
  const empty = compact.encode(Buffer.alloc(1336));
  const hostile: [string, Buffer][] = [
    ['a length below the smallest frame', withLength(good, compact.minFrame - 1)],
    ['a length above the largest frame', withLength(good, compact.maxFrame + 1)],
    ['bytes after the last field', withLength(Buffer.concat([good, Buffer.alloc(5)]), good.length + 5)],
    [
      'a string longer than its field',
      withLength(
        Buffer.concat([empty.subarray(0, 6), Buffer.from([200]), Buffer.alloc(200), empty.subarray(7)]),
        empty.length + 200,
      ),
    ],
  ];
  const rejected = agent.stats().peersRejected;
  for (const [i, [what, bytes]] of hostile.entries()) {
    const h = await raw(t, port, 7100 + i, true);
    h.peer.write(bytes);
    t.ok(await h.peer.closedByPeer(10000), `${what}: the agent closed that connection`);
  }
  t.equal(agent.stats().peersRejected - rejected, hostile.length, 'each counted in peersRejected');
  t.ok(await exchange(), 'the honest pair still exchanges');

  // A frame in pieces, one byte per write, is one message.
  const slow = await raw(t, port, 7200, true);
  slow.register(PUB);
  const whole = compact.encode(slow.notifyFrame(PUB, 'GOOD'));
  for (const byte of whole) {
    slow.peer.write(Buffer.from([byte]));
    await new Promise((r) => setImmediate(r));
  }
  t.equal((await sub.next(10000))?.['event.event_name'], 'GOOD', 'a frame written one byte at a time arrives');
  t.ok(await exchange(), 'and the pair goes on');
});

/** A NOTIFY from a made-up publisher, addressed to crftb client `name` of event space FTB.TEST.JS. */
function notifyTo(name: string, payload: Buffer): Buffer {
  return ftbRules.encode('message', {
    msg_type: 1,
    'src.location.hostname': '127.0.0.9',
    'src.location.pid_starttime': 'x',
    'src.location.pid': 4242,
    'dst.client.region': 'FTB',
    'dst.client.comp_cat': 'TEST',
    'dst.client.comp': 'JS',
    'dst.client.client_name': name,
    'event.region': 'FTB',
    'event.comp_cat': 'TEST',
    'event.comp': 'PUB',
    'event.event_name': 'FROM_AGENT',
    'event.severity': 'info',
    'event.client_name': 'pub',
    'event.event_type': 1,
    'event.payload': payload,
  });
}

for (const reader of ['listener', 'poll'] as const) {
  t.test(
    `an agent that breaks compact framing costs the client its connection, not the process (${reader})`,
    async (t) => {
      const agent = await startRecordingAgent({ compact: true });
      t.teardown(() => agent.close());
      const client = await FtbClient.connect(
        {
          eventSpace: 'FTB.TEST.JS',
          clientName: reader,
          subscriptionStyle: reader === 'listener' ? 'FTB_SUBSCRIPTION_NOTIFY' : 'FTB_SUBSCRIPTION_POLLING',
        },
        { agentHost: '127.0.0.1', agentPort: agent.port, hostAddress: '127.0.0.1', reconnectInitialMs: 10 },
      );
      t.teardown(() => client.close());
      t.same(agent.compact, [true], 'the recording agent took the offer');
      const sub = client.subscribe('event_space=FTB.TEST.PUB');
      const got: FtbReceivedEvent[] = [];
      if (reader === 'listener') sub.on('event', (e) => got.push(e));
      const take = () => {
        for (let e = reader === 'poll' ? sub.poll() : null; e; e = sub.poll()) got.push(e);
        return got.length;
      };
      await waitFor('the subscription to reach the agent', () => agent.messages.some((m) => m.msg_type === 0x22));
      t.equal(
        FtbClient.connectionStats().readOnJsThread,
        reader === 'listener',
        `read by ${reader === 'listener' ? 'the JS thread' : 'the I/O thread'}`,
      );

      const payload = Buffer.concat([Buffer.from('compact'), Buffer.alloc(361)]);
      agent.sockets[0].write(compact.encode(notifyTo(reader, payload)));
      await waitFor('the compact NOTIFY to be delivered', () => take() === 1);
      t.equal(got[0].name, 'FROM_AGENT');
      t.equal(got[0].sourcePid, 4242);
      t.ok(got[0].payload.equals(payload), 'all 368 payload bytes');

      const losses = FtbClient.connectionStats().losses;
      agent.sockets[0].write(Buffer.from([5, 0, 1, 2, 3])); // a frame of 5 bytes: none is that short
      await waitFor('the connection to be dropped', () => FtbClient.connectionStats().losses === losses + 1);
      await waitFor('the client to reconnect', () => agent.connections === 2 && FtbClient.connectionStats().connected);
      t.same(agent.compact, [true, true], 'compact again on the new connection');
      await waitFor(
        'the subscription to be re-sent',
        () => agent.messages.filter((m) => m.msg_type === 0x22).length === 2,
      );
      agent.sockets[1].write(compact.encode(notifyTo(reader, payload)));
      await waitFor('a delivery on the new connection', () => take() === 2);
      t.pass('the process lives on and events flow again');
    },
  );
}
