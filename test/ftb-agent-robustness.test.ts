// Bad peers are dropped alone; a slow reader holds its publisher back (nothing lost), a stuck
// one loses events and stalls nobody for more than the agent's bound. An agent runs in this
// process (its loop is a native thread) so stats() can be read; peers are raw TCP sockets.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { startAgent, type Agent } from '../lib/ftb/agent';
import { CrftbProcess } from './helpers/crftb-process';
import { handshakeFrame, RawClient } from './helpers/ftb-raw-client';
import { RawPeer, MESSAGE_SIZE } from './helpers/ftb-raw-peer';
import { waitFor } from './helpers/wait';

const PUB = { eventSpace: 'FTB.TEST.PUB', clientName: 'pub' };
const SUB = { eventSpace: 'FTB.TEST.SUB', clientName: 'sub' };

async function subscribed(t: Test, agent: Agent, pid: number, subscription = 'event_name=GOOD') {
  const sub = await RawClient.connect(agent.address.port, pid);
  t.teardown(() => sub.close());
  sub.register(SUB);
  sub.subscribe(SUB, subscription);
  return sub;
}

async function stillServes(t: Test, agent: Agent, sub: RawClient, pid: number, what: string) {
  const pub = await RawClient.connect(agent.address.port, pid);
  pub.register(PUB);
  const seq = pub.publish(PUB, 'GOOD', 'info', 1);
  const got = await sub.next(3000);
  t.equal(got?.['event.seqnum'], seq, `the good subscriber still gets events after ${what}`);
  pub.close();
}

t.test('garbage, truncation, huge values and silence are dropped alone', async (t) => {
  const agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1', handshakeTimeoutMs: 300 });
  agent.unref();
  t.teardown(() => agent.close());
  const sub = await subscribed(t, agent, 50001);
  const rejected = agent.stats().peersRejected;

  const wrongSystem = await RawPeer.connect(agent.address.port);
  const bad = handshakeFrame(50002, 'client');
  bad.writeUInt32LE(7, 0);
  wrongSystem.write(bad);
  t.ok(await wrongSystem.closedByPeer(), 'a handshake with system id 7 is refused (closed without reply)');
  t.equal(wrongSystem.pending(), 0, 'no reply was sent');
  await stillServes(t, agent, sub, 50100, 'a bad handshake');

  const garbage = await RawPeer.connect(agent.address.port);
  t.ok(await garbage.handshake(handshakeFrame(50003, 'client')), 'handshake accepted');
  garbage.write(crypto.randomBytes(MESSAGE_SIZE * 3).fill(0x7f, 0, 4)); // msg_type 0x7f7f7f7f: unknown
  t.ok(await garbage.closedByPeer(), 'a frame of unknown type (framing lost) closes that connection');
  await stillServes(t, agent, sub, 50101, 'garbage frames');

  const huge = await RawPeer.connect(agent.address.port);
  await huge.handshake(handshakeFrame(50004, 'client'));
  huge.write(crypto.randomBytes(16 << 20));
  t.ok(await huge.closedByPeer(10000), '16 MiB of random bytes: dropped');
  await stillServes(t, agent, sub, 50102, 'a 16 MiB random stream');

  const truncated = await RawPeer.connect(agent.address.port);
  await truncated.handshake(handshakeFrame(50005, 'client'));
  truncated.socket.end(Buffer.alloc(700, 1));
  t.ok(await truncated.closedByPeer(), 'a connection closed mid-frame is dropped');
  const halfHandshake = await RawPeer.connect(agent.address.port);
  halfHandshake.socket.end(handshakeFrame(50006, 'client').subarray(0, 900));
  t.ok(await halfHandshake.closedByPeer(), 'a connection closed mid-handshake is dropped');
  await stillServes(t, agent, sub, 50103, 'truncated frames');

  const silent = await RawPeer.connect(agent.address.port);
  t.ok(await silent.closedByPeer(3000), 'a connection that never handshakes is closed after handshakeTimeoutMs');
  await stillServes(t, agent, sub, 50104, 'a silent connection');

  t.ok(agent.stats().peersRejected >= rejected + 4, 'rejections are counted');
  t.equal(agent.stats().clients >= 1, true);
});

t.test(
  'a subscriber that stops reading loses events; the publisher and other subscribers wait at most once, briefly',
  async (t) => {
    const agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1', clientQueueKiB: 1024 });
    agent.unref();
    t.teardown(() => agent.close());
    const fast = await subscribed(t, agent, 51001);
    const slow = await subscribed(t, agent, 51002);
    slow.peer.socket.pause(); // reads nothing from now on
    const pub = await RawClient.connect(agent.address.port, 51003);
    t.teardown(() => pub.close());
    pub.register(PUB);

    const total = 20000;
    const batch = 1000;
    let fastGot = 0;
    for (let sent = 0; sent < total; sent += batch) {
      for (let i = 0; i < batch; i++) pub.publish(PUB, 'GOOD', 'info', 1);
      for (let i = 0; i < batch; i++) {
        const got = await fast.next(5000);
        if (!got) break;
        fastGot++;
      }
    }
    t.equal(fastGot, total, 'the reading subscriber got every event while the other one was stuck');
    const stats = agent.stats();
    t.ok(stats.eventsDropped > 0, `copies for the stuck subscriber were dropped (${stats.eventsDropped})`);
    t.ok(stats.eventsDropped < total, 'but only once its queue was full');

    slow.peer.socket.resume();
    let slowGot = 0;
    let last = 0;
    let ordered = true;
    for (;;) {
      const got = await slow.next(500);
      if (!got) break;
      const seq = got['event.seqnum'] as number;
      if (seq <= last) ordered = false;
      last = seq;
      slowGot++;
    }
    t.ok(ordered, 'what the slow subscriber gets is in order, without duplicates');
    t.equal(slowGot + agent.stats().eventsDropped, total, 'received + dropped = published');
  },
);

t.test(
  'a subscriber that reads slowly gets every event: the agent holds the publisher back instead of dropping',
  async (t) => {
    const agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1', clientQueueKiB: 256 });
    agent.unref();
    t.teardown(() => agent.close());
    const slow = await subscribed(t, agent, 52001);
    const pub = await RawClient.connect(agent.address.port, 52002);
    t.teardown(() => pub.close());
    pub.register(PUB);
    // Reads in short bursts with pauses: always draining, far slower than the flood below.
    const pacer = setInterval(() => {
      slow.peer.socket.resume();
      setTimeout(() => slow.peer.socket.pause(), 2);
    }, 20);
    t.teardown(() => clearInterval(pacer));
    // 20,000 NOTIFYs (26 MB, 100 times the subscriber's queue) encoded first and written at once,
    // so this thread stays free to run the pacer while the agent takes them.
    const total = 20000;
    pub.peer.socket.write(pub.flood(PUB, 'GOOD', total));
    let got = 0;
    let ordered = true;
    let last = 0;
    while (got < total) {
      const event = await slow.next(5000);
      if (!event) break;
      const seq = event['event.seqnum'] as number;
      if (seq !== ((last + 1) & 0xffff)) ordered = false;
      last = seq;
      got++;
    }
    clearInterval(pacer);
    const stats = agent.stats();
    t.equal(got, total, 'the slow subscriber received every event');
    t.ok(ordered, 'in order, without gaps or duplicates');
    t.equal(stats.eventsDropped, 0, 'the agent dropped nothing');
    t.ok(stats.backpressurePauses > 0, `the publisher was held back (${stats.backpressurePauses} pauses)`);
  },
);

t.test('every socket of an agent process is close-on-exec', async (t) => {
  const root = CrftbProcess.start(['agent', '--port', '0', '--advertise', '127.0.0.1', '--standalone']);
  t.teardown(() => root.stop('SIGKILL'));
  const { port } = await root.listening();
  const client = await RawClient.connect(port, 52001);
  t.teardown(() => client.close());
  client.register(SUB);
  const pid = root.child.pid!;
  await waitFor('the agent to hold its sockets', () => fs.readdirSync(`/proc/${pid}/fd`).length > 3);
  let sockets = 0;
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    if (Number(fd) <= 2) continue;
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    if (!target.startsWith('socket:') && !target.includes('eventfd') && !target.includes('eventpoll')) continue;
    const flags = /flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1];
    t.ok((parseInt(flags, 8) & 0o2000000) !== 0, `fd ${fd} (${target}) is O_CLOEXEC`);
    if (target.startsWith('socket:')) sockets++;
  }
  t.ok(sockets >= 2, `checked ${sockets} sockets (listener, accepted client)`);
});
