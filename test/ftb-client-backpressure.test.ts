// Publishing never waits for the network: bursts are coalesced and arrive whole and in order;
// an agent that stops reading makes publish fail fast (bounded backlog), not block. Receiving:
// a JS listener slower than the flood paces it (flow control through the agent), losing nothing.
import t from 'tap';
import net from 'node:net';
import { FtbClient } from '../lib/ftb/client';
import { ftbRules } from '../lib/ftb/native';
import { startRecordingAgent } from './helpers/ftb-recording-agent';
import { startAgent } from '../lib/ftb/agent';
import { RawClient } from './helpers/ftb-raw-client';
import { waitFor } from './helpers/wait';

t.test('a burst of 20,000 publishes arrives complete and in order', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const client = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.BURST', clientName: 'b' },
    { agentHost: '127.0.0.1', agentPort: peer.port, sendBacklogBytes: 64 << 20 },
  );
  t.teardown(() => client.close());
  client.declare([{ name: 'EV', severity: 'info' }]);
  const payload = Buffer.alloc(4);
  for (let i = 0; i < 20000; i++) {
    payload.writeUInt32LE(i, 0);
    client.publish('EV', { payload });
  }
  await waitFor('CLIENT_REG + 20,000 NOTIFYs', () => peer.messages.length === 20001);
  let inOrder = true;
  for (let i = 0; i < 20000; i++) {
    const m = peer.messages[i + 1];
    if ((m['event.payload'] as Buffer).readUInt32LE(0) !== i || m['event.seqnum'] !== ((i + 1) & 0xffff))
      inOrder = false;
  }
  t.ok(inOrder, 'payloads and seqnums in publish order, none torn');
});

t.test('an agent that stops reading: publish fails fast with FTB_ERR_NETWORK_GENERAL', async (t) => {
  // accepts and answers the handshake, then never reads again
  const location = ftbRules.encode('location', { hostname: '127.0.0.1', pid_starttime: 'x', pid: 1 });
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.once('data', () => {
      s.write(location);
      s.pause();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const client = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.STUCK', clientName: 's' },
    { agentHost: '127.0.0.1', agentPort: (server.address() as net.AddressInfo).port, sendBacklogBytes: 256 << 10 },
  );
  client.declare([{ name: 'EV', severity: 'info' }]);
  const started = Date.now();
  let error: { code?: string; message?: string } | null = null;
  let published = 0;
  for (let i = 0; i < 1000000 && !error; i++) {
    try {
      client.publish('EV');
      published++;
    } catch (e) {
      error = e as { code?: string };
    }
    if (i % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  t.match(error, { code: 'FTB_ERR_NETWORK_GENERAL', message: /not reading/ }, `failed after ${published} publishes`);
  t.ok(Date.now() - started < 10000, 'no publish blocked');
  t.ok(FtbClient.connectionStats().backlogBytes <= 256 << 10, 'backlog stays within its bound');
  const closing = Date.now();
  await client.close();
  t.ok(Date.now() - closing < 5000, 'close gives up flushing after a bounded time');
});

t.test(
  'a JS listener slower than a flood gets every event: the client stops reading, the agent holds the publisher back',
  async (t) => {
    const agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1' });
    agent.unref();
    t.teardown(() => agent.close());
    // callbackQueueLimit far below the flood: without flow control the client would drop
    const client = await FtbClient.connect(
      { eventSpace: 'CRFTB.TEST.SLOWJS', clientName: 'slow', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
      { agentHost: '127.0.0.1', agentPort: agent.address.port, callbackQueueLimit: 1000 },
    );
    t.teardown(() => client.close());
    const total = 20000;
    let got = 0;
    let ordered = true;
    let last = 0;
    const done = new Promise<void>((resolve) => {
      client.subscribe('event_name=FLOOD').on('event', (e) => {
        const until = process.hrtime.bigint() + 30000n; // a listener that takes 30 µs per event
        while (process.hrtime.bigint() < until);
        if (e.seqnum !== ((last + 1) & 0xffff)) ordered = false;
        last = e.seqnum;
        if (++got === total) resolve();
      });
    });
    await waitFor('subscribed at the agent', () => agent.stats().subscriptions >= 1);

    const pub = await RawClient.connect(agent.address.port, 53001);
    t.teardown(() => pub.close());
    const who = { eventSpace: 'CRFTB.TEST.FLOODER', clientName: 'f' };
    pub.register(who);
    pub.peer.socket.write(pub.flood(who, 'FLOOD', total));

    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 60000)))]);
    clearTimeout(timer);
    t.equal(got, total, 'every event reached the listener');
    t.ok(ordered, 'in order, without gaps or duplicates');
    t.equal(client.stats().callbackDropped, 0, 'the client dropped nothing');
    t.equal(agent.stats().eventsDropped, 0, 'the agent dropped nothing');
  },
);
