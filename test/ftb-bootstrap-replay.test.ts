// The bootstrap server against FTB 0.6.2's own: every UDP request of captures 01, 04, 11, 12 and
// 18 is replayed, in order, to a crftb bootstrap server, and every reply must equal the captured
// reply byte for byte (FTB's replies are zero-filled, so no normalisation is needed). Liveness
// probes are off here: the captured agents (127.0.0.1:10809/10810) are not ours to connect to.
// The one deliberate difference (capture 12: an agent re-registering as root over its own stale
// entry is accepted, where FTB refused it forever) is asserted as such.
import t, { type Test } from 'tap';
import dgram from 'node:dgram';
import { startBootstrap, type BootstrapServer } from '../lib/ftb/bootstrap';
import { ftbRules } from '../lib/ftb/native';
import { capturesDir, readCapture, type CaptureRecord } from './helpers/captures';

const dir = capturesDir();
const BOOTSTRAP_PORT = 14455; // the captured server's port: only used to read the capture

/** Sends one request from a fresh socket (as FTB does) and returns the reply, or null after `waitMs`. */
async function exchange(port: number, request: Buffer, waitMs = 300): Promise<Buffer | null> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise<Buffer | null>((resolve, reject) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      socket.once('error', reject);
      socket.send(request, port, '127.0.0.1');
    });
  } finally {
    socket.close();
  }
}

/** Pairs each request to the server with the server's reply to the same client port (or null). */
function requests(records: CaptureRecord[]): { request: Buffer; reply: Buffer | null }[] {
  const udp = records.filter((r) => r.proto === 'UDP' && r.bytes);
  const out: { request: Buffer; reply: Buffer | null }[] = [];
  udp.forEach((r, i) => {
    if (r.to.port !== BOOTSTRAP_PORT) return;
    const reply = udp.slice(i + 1).find((x) => x.from.port === BOOTSTRAP_PORT && x.to.port === r.from.port);
    out.push({ request: r.bytes!, reply: reply?.bytes ?? null });
  });
  return out;
}

async function replay(t: Test, server: BootstrapServer, name: string, expectStaleRootFix = false) {
  for (const [i, { request, reply }] of requests(readCapture(dir, name)).entries()) {
    const ours = await exchange(server.address.port, request, reply ? 2000 : 200);
    const what = `${name} request ${i} (type ${request[0]})`;
    if (!reply) {
      t.equal(ours, null, `${what}: no reply, as FTB`);
      continue;
    }
    if (expectStaleRootFix && reply[0] === 10) {
      t.equal(ours?.[0], 4, `${what}: REG_REP where FTB 0.6.2 answered REG_INVALID to its own stale root`);
      t.ok(ours?.subarray(1).equals(reply.subarray(1)), `${what}: otherwise the same zero-filled bytes`);
      return; // the rest of capture 12 is FTB retrying the refusal
    }
    t.ok(ours?.equals(reply), `${what}: reply equals the capture byte for byte`);
  }
}

const scenarios: { name: string; setup: string[]; staleRoot?: boolean }[] = [
  { name: '01_', setup: [] },
  { name: '04_', setup: ['01_'] },
  { name: '18_', setup: ['01_', '04_'] },
  { name: '11_', setup: ['01_', '04_'] },
  { name: '12_', setup: ['01_'], staleRoot: true },
];
for (const s of scenarios) {
  t.test(`capture ${s.name} after ${s.setup.join(', ') || 'a fresh start'}`, async (t) => {
    const server = await startBootstrap({ port: 0, liveness: false });
    t.teardown(() => server.close());
    for (const setup of s.setup) await replay(t, server, setup);
    await replay(t, server, s.name, s.staleRoot);
  });
}

t.test('golden requests decode as the server read them', async (t) => {
  const server = await startBootstrap({ port: 0, liveness: false });
  t.teardown(() => server.close());
  await replay(t, server, '01_');
  await replay(t, server, '04_');
  const agents = server
    .stats()
    .agents.map((a) => ({ address: a.address, port: a.port, level: a.level, parent: a.parent }));
  t.same(agents, [
    { address: '127.0.0.1', port: 10809, level: 1, parent: null },
    { address: '127.0.0.1', port: 10810, level: 2, parent: '127.0.0.1:10809' },
  ]);
  const bad = await exchange(server.address.port, Buffer.alloc(100, 1), 200);
  t.equal(bad, null, 'a datagram that is not 144 bytes is ignored');
  const port0 = ftbRules.encode('bootstrap', { type: 3, 'addr.name': '10.0.0.9', 'addr.port': 0, level: 1 });
  t.equal(await exchange(server.address.port, port0, 200), null, 'a port-0 registration gets no reply');
  t.equal(server.stats().agents.length, 2, 'and changes nothing');
});
