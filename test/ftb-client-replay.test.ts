// The client side of capture 02 (polling subscriber, then publisher), replayed against a real TCP
// listener written here: every byte our client sends must equal the normalized golden message
// once the values that differ between runs (start time, pid) are put back to the capture's.
import t, { type Test } from 'tap';
import net from 'node:net';
import { FtbClient, type FtbClientInfo } from '../lib/ftb/client';
import { ftbRules, type WireObject } from '../lib/ftb/native';
import { capturesDir, readGoldens, type Golden } from './helpers/captures';
import { StreamReader } from './helpers/stream-reader';
import { waitFor } from './helpers/wait';

const dir = capturesDir();

function withLocations(kind: 'message' | 'handshake', bytes: Buffer, from: Buffer): Buffer {
  // Copy the run-dependent location fields (start time, pid) of `from` into `bytes`.
  const ours = ftbRules.decode(kind, bytes);
  const theirs = ftbRules.decode(kind, from);
  const patched: WireObject = { ...ours };
  for (const key of Object.keys(ours)) {
    if (/location\.(pid_starttime|pid)$/.test(key)) patched[key] = theirs[key];
  }
  return ftbRules.encode(kind, patched);
}

function diff(a: Buffer, b: Buffer): string {
  const at: number[] = [];
  for (let i = 0; i < a.length && at.length < 8; i++) if (a[i] !== b[i]) at.push(i);
  return at.length ? `first differing offsets ${at.join(', ')}` : 'identical';
}

async function serveOnce(): Promise<{ port: number; socket: Promise<net.Socket>; close: () => void }> {
  const server = net.createServer();
  let resolveSocket!: (s: net.Socket) => void;
  const socket = new Promise<net.Socket>((r) => (resolveSocket = r));
  server.on('connection', (s) => resolveSocket(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, socket, close: () => server.close() };
}

const g = new Map<number, Golden>(readGoldens(dir).map((x) => [x.number, x]));

// A client connected to a listener that takes its handshake and answers with golden 10 (the
// agent's location id), as capture 02's agent did.
async function connectToReplay(t: Test, info: FtbClientInfo) {
  const peer = await serveOnce();
  t.teardown(peer.close);
  const connecting = FtbClient.connect(info, {
    agentHost: '127.0.0.1',
    agentPort: peer.port,
    hostAddress: '127.0.0.1',
    reconnect: false,
  });
  const socket = await peer.socket;
  const reader = new StreamReader(socket);
  await reader.read(1440);
  socket.write(g.get(10)!.raw);
  return { client: await connecting, socket, reader };
}

// The offer of compact frames (README, "Compact frames") sits in the handshake registration's
// event payload, bytes FTB leaves undefined; everything else is FTB's byte for byte, and with
// compactFrames: false so is the offer's place.
const offerAt = ftbRules.layout().Handshake.fields['registration.event.payload'][0];

for (const compactFrames of [true, false]) {
  t.test(
    `capture 02, subscriber side (compactFrames: ${compactFrames}): handshake, CLIENT_REG, REG_SUBSCRIPTION, poll, cancel, deregister`,
    async (t) => {
      const peer = await serveOnce();
      t.teardown(peer.close);
      const client = new FtbClient(
        {
          eventSpace: 'FTB.TEST.SUB',
          clientName: 'sub_poll',
          jobId: 'job7',
          subscriptionStyle: 'FTB_SUBSCRIPTION_POLLING',
        },
        { agentHost: '127.0.0.1', agentPort: peer.port, hostAddress: '127.0.0.1', reconnect: false, compactFrames },
      );
      const connecting = client.connect();
      const socket = await peer.socket;
      const reader = new StreamReader(socket);
      const hello = await reader.read(1440);
      t.equal(hello.readUInt32LE(0), 1, 'system id 1');
      t.equal(ftbRules.decode('handshake', hello)['location.pid'], process.pid, 'own pid in the location');
      const offer = hello.subarray(offerAt, offerAt + ftbRules.compact.mark.length);
      if (compactFrames) {
        t.ok(offer.equals(ftbRules.compact.mark), 'the registration offers compact frames');
        offer.fill(0);
      } else {
        t.ok(offer.equals(Buffer.alloc(offer.length)), 'no offer');
      }
      const hs = withLocations('handshake', hello, g.get(9)!.normalized);
      t.ok(hs.equals(g.get(9)!.normalized), `handshake = golden 09 (${diff(hs, g.get(9)!.normalized)})`);
      socket.write(g.get(10)!.raw); // the agent's 100-byte location id
      await connecting;

      const expectMessage = async (n: number, what: string) => {
        const ours = withLocations('message', await reader.read(1336), g.get(n)!.normalized);
        t.ok(ours.equals(g.get(n)!.normalized), `${what} = golden ${n} (${diff(ours, g.get(n)!.normalized)})`);
      };
      await expectMessage(11, 'CLIENT_REG');
      const sub = client.subscribe('event_space=FTB.TEST.PUB, event_name=TEST_EVENT');
      t.equal(sub.kind, 'polling');
      await expectMessage(12, 'REG_SUBSCRIPTION');

      t.equal(sub.poll(), null, 'nothing queued yet');
      socket.write(g.get(15)!.raw); // the real agent's delivery, garbage bytes included
      let event = null;
      await waitFor('the delivered event to be polled', () => {
        event = sub.poll();
        return event !== null;
      });
      t.ok(event, 'the delivered event is polled');
      t.match(event, {
        space: 'FTB.TEST.PUB',
        name: 'TEST_EVENT',
        severity: 'warning',
        clientName: 'pub1',
        jobId: 'job42',
        seqnum: 1,
        eventType: 1,
        sourcePid: 13801,
        sourceHost: '127.0.0.1',
      });
      t.equal(event!.payload.subarray(0, 9).toString(), 'hello-ftb');
      t.equal(event!.handle!.eventName, 'TEST_EVENT');
      t.equal(event!.handle!.sourcePid, 13801);

      sub.unsubscribe();
      await expectMessage(16, 'SUBSCRIPTION_CANCEL');
      await client.close();
      await expectMessage(17, 'CLIENT_DEREG (client)');
      await expectMessage(18, 'CLIENT_DEREG (process manager)');
      t.ok(await reader.closed(), 'then the connection is closed');
    },
  );
}

t.test('capture 02, publisher side: declare sends nothing, NOTIFY equals golden 14', async (t) => {
  const { client, reader } = await connectToReplay(t, {
    eventSpace: 'FTB.TEST.PUB',
    clientName: 'pub1',
    jobId: 'job42',
  });
  const reg = withLocations('message', await reader.read(1336), g.get(13)!.normalized);
  t.ok(reg.equals(g.get(13)!.normalized), `CLIENT_REG = golden 13 (${diff(reg, g.get(13)!.normalized)})`);
  client.declare([{ name: 'TEST_EVENT', severity: 'warning' }]);
  const handle = client.publish('TEST_EVENT', { payload: 'hello-ftb' });
  const notify = withLocations('message', await reader.read(1336), g.get(14)!.normalized);
  t.ok(notify.equals(g.get(14)!.normalized), `NOTIFY = golden 14 (${diff(notify, g.get(14)!.normalized)})`);
  t.equal(handle.seqnum, 1, 'first event has seqnum 1');
  t.equal(handle.eventName, 'TEST_EVENT');
  t.equal(handle.space, 'FTB.TEST.PUB');
  await client.close();
  await reader.read(1336 * 2);
  t.ok(await reader.closed());
});

t.test('capture 03, callback subscriber: REG_SUBSCRIPTION golden 19, golden 20 reaches the callback', async (t) => {
  const { client, socket, reader } = await connectToReplay(t, {
    eventSpace: 'FTB.TEST.CB',
    clientName: 'sub_cb',
    subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
  });
  await reader.read(1336);
  const sub = client.subscribe('severity=warning');
  t.equal(sub.kind, 'callback');
  const m = ftbRules.decode('message', await reader.read(1336));
  const golden19 = ftbRules.decode('message', g.get(19)!.normalized);
  for (const key of Object.keys(golden19).filter((k) => k.startsWith('event.') && !k.endsWith('payload'))) {
    t.equal(m[key], golden19[key], `mask ${key}`);
  }
  const got = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no callback within 5 s')), 5000);
    sub.once('event', (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  // golden 20 is addressed to sub_cb of FTB.TEST.CB: our client is picked by dst.client_id
  socket.write(g.get(20)!.raw);
  const event = (await got) as { name: string; payload: Buffer; seqnum: number };
  t.equal(event.name, 'TEST_EVENT');
  t.equal(event.seqnum, 1);
  t.equal(event.payload.subarray(0, 7).toString(), 'cb-test');
  await client.close();
});
