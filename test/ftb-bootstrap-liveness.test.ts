// The bootstrap server's fixes over FTB 0.6.2: dead agents leave the tree. An agent is dead when
// a TCP connect to its listener is refused; the server checks when someone reports it (CONN_FAIL,
// an orphan naming its lost parent, a second root asking to register) and on a periodic sweep.
// Agents here are real loopback listeners (alive) or ports we just closed (dead).
import t, { type Test } from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import { startBootstrap } from '../lib/ftb/bootstrap';
import { ftbRules } from '../lib/ftb/native';
import { waitFor } from './helpers/wait';

const ADDR_REQ = 1,
  ADDR_REP = 2,
  REG_REQ = 3,
  REG_REP = 4,
  CONN_FAIL = 7,
  REG_INVALID = 10;

function packet(type: number, port: number, level: number, lost?: { port: number }): Buffer {
  return ftbRules.encode('bootstrap', {
    type,
    'addr.name': '127.0.0.1',
    'addr.port': port,
    'parent_addr.name': lost ? '127.0.0.1' : '',
    'parent_addr.port': lost?.port ?? 0,
    level,
  });
}

async function exchange(serverPort: number, request: Buffer, waitMs = 2000): Promise<Record<string, unknown> | null> {
  const socket = dgram.createSocket('udp4');
  try {
    const reply = await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), waitMs);
      socket.once('message', (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      socket.send(request, serverPort, '127.0.0.1');
    });
    return reply ? ftbRules.decode('bootstrap', reply) : null;
  } finally {
    socket.close();
  }
}

async function liveListener(t: Test): Promise<number> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return (server.address() as net.AddressInfo).port;
}

/** A port on which nothing listens any more (a "SIGKILLed agent"). */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

t.test('a dead root does not block a new root', async (t) => {
  const server = await startBootstrap({ port: 0, livenessIntervalMs: 0 });
  t.teardown(() => server.close());
  const dead = await deadPort();
  const newcomer = await deadPort();

  t.equal((await exchange(server.address.port, packet(REG_REQ, dead, 1)))?.type, REG_REP, 'first root registered');
  t.equal(
    (await exchange(server.address.port, packet(REG_REQ, newcomer, 1)))?.type,
    REG_REP,
    'a second root is accepted once the first one is found dead',
  );
  t.same(
    server.stats().agents.map((a) => a.port),
    [newcomer],
    'the dead root left the list',
  );
  t.equal(server.stats().removedDead, 1);
});

t.test('a live root is kept and a second root refused', async (t) => {
  const server = await startBootstrap({ port: 0, livenessIntervalMs: 0 });
  t.teardown(() => server.close());
  const root = await liveListener(t);
  const other = await liveListener(t);
  t.equal((await exchange(server.address.port, packet(REG_REQ, root, 1)))?.type, REG_REP);
  t.equal((await exchange(server.address.port, packet(REG_REQ, other, 1)))?.type, REG_INVALID, 'REG_INVALID, as FTB');
  t.same(
    server.stats().agents.map((a) => a.port),
    [root],
  );
});

t.test('CONN_FAIL retires an unreachable parent, named where FTB senders put it (addr)', async (t) => {
  const server = await startBootstrap({ port: 0, livenessIntervalMs: 0 });
  t.teardown(() => server.close());
  const root = await liveListener(t);
  const dead = await deadPort();
  await exchange(server.address.port, packet(REG_REQ, root, 1));
  await exchange(server.address.port, packet(REG_REQ, dead, 2));
  t.equal(server.stats().agents.length, 2);
  t.equal(await exchange(server.address.port, packet(CONN_FAIL, root, 0), 200), null, 'CONN_FAIL has no reply');
  t.same(
    server.stats().agents.map((a) => a.port),
    [root, dead],
    'a live agent named in CONN_FAIL stays',
  );
  await exchange(server.address.port, packet(CONN_FAIL, dead, 0), 200);
  t.same(
    server.stats().agents.map((a) => a.port),
    [root],
    'the dead one is gone',
  );
});

t.test('an orphan naming its lost parent: dead → removed, alive → crossed out (FTB)', async (t) => {
  const server = await startBootstrap({ port: 0, livenessIntervalMs: 0 });
  t.teardown(() => server.close());
  const root = await liveListener(t);
  const middle = await liveListener(t);
  const orphan = await deadPort();
  await exchange(server.address.port, packet(REG_REQ, root, 1));
  await exchange(server.address.port, packet(REG_REQ, middle, 2));
  const reply = await exchange(server.address.port, packet(ADDR_REQ, orphan, 3, { port: middle }));
  t.equal(reply?.type, ADDR_REP);
  t.equal(reply?.['parent_addr.port'], root, 'offered the root, not the lost (but listening) parent');
  t.equal(server.stats().agents.find((a) => a.port === middle)?.crossedOut, true, 'the lost parent is crossed out');
});

t.test('the periodic sweep retires agents that stopped listening', async (t) => {
  const server = await startBootstrap({ port: 0, livenessIntervalMs: 100 });
  t.teardown(() => server.close());
  const root = await liveListener(t);
  const dead = await deadPort();
  await exchange(server.address.port, packet(REG_REQ, root, 1));
  await exchange(server.address.port, packet(REG_REQ, dead, 2));
  await waitFor('the dead agent to be retired', () => server.stats().agents.length <= 1, 5000);
  t.same(
    server.stats().agents.map((a) => a.port),
    [root],
  );
});

t.test('fanout: the shallowest agent with room is the parent', async (t) => {
  const server = await startBootstrap({ port: 0, liveness: false, fanout: 1 });
  t.teardown(() => server.close());
  const [a, b, c] = [20001, 20002, 20003]; // never connected to: liveness is off
  await exchange(server.address.port, packet(REG_REQ, a, 1));
  let reply = await exchange(server.address.port, packet(ADDR_REQ, b, 65535));
  t.equal(reply?.['parent_addr.port'], a);
  await exchange(server.address.port, packet(REG_REQ, b, 2));
  reply = await exchange(server.address.port, packet(ADDR_REQ, c, 65535));
  t.equal(reply?.['parent_addr.port'], b, 'a already has its one child, so c goes under b');
  t.equal(reply?.level, 2);
});
