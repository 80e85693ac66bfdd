// Sockets and threads of the FTB client: close-on-exec from birth, nothing left behind by failed
// connects or by close(), and a connect with no agent anywhere fails within its time bound.
import t from 'tap';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import { FtbClient } from '../lib/ftb/client';
import { startRecordingAgent } from './helpers/ftb-recording-agent';
import { waitFor } from './helpers/wait';

const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const threadCount = () => fs.readdirSync('/proc/self/task').length;

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

t.test('a child spawned after connecting sees no FTB socket', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const client = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.FD', clientName: 'fd', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  t.teardown(() => client.close());
  const { fd } = FtbClient.connectionStats();
  t.ok(fd >= 0, 'the connection has a socket');
  const link = fs.readlinkSync(`/proc/self/fd/${fd}`);
  t.match(link, /^socket:\[\d+\]$/);
  const flags = parseInt(/flags:\s*(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1], 8);
  t.ok(flags & 0o2000000, 'O_CLOEXEC set on the socket');
  const childLinks = execFileSync(process.execPath, [
    '-e',
    "const fs=require('fs');for(const f of fs.readdirSync('/proc/self/fd')){try{console.log(fs.readlinkSync('/proc/self/fd/'+f))}catch{}}",
  ])
    .toString()
    .split('\n');
  t.notOk(childLinks.includes(link), `child does not hold ${link}`);
});

t.test('10,000 failing connects leave the fd and thread counts unchanged', async (t) => {
  const port = await closedPort();
  const fds = fdCount();
  const threads = threadCount();
  let failures = 0;
  for (let i = 0; i < 10000; i++) {
    try {
      await FtbClient.connect(
        { eventSpace: 'CRFTB.TEST.FAIL', clientName: 'f' },
        { agentHost: '127.0.0.1', agentPort: port, connectTimeoutMs: 1000 },
      );
    } catch (error) {
      if ((error as { code?: string }).code === 'FTB_ERR_NETWORK_NO_ROUTE') failures++;
    }
  }
  t.equal(failures, 10000, 'every connect failed with FTB_ERR_NETWORK_NO_ROUTE');
  t.equal(fdCount(), fds, 'no fd leaked');
  t.equal(threadCount(), threads, 'no thread left behind');
});

t.test('close() leaves no fd and no thread behind', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const fds = fdCount();
  const threads = threadCount();
  for (let i = 0; i < 20; i++) {
    const a = await FtbClient.connect(
      { eventSpace: 'CRFTB.TEST.CYCLE', clientName: 'a', subscriptionStyle: 'FTB_SUBSCRIPTION_BOTH' },
      { agentHost: '127.0.0.1', agentPort: peer.port },
    );
    const b = await FtbClient.connect(
      { eventSpace: 'CRFTB.TEST.CYCLE', clientName: 'b' },
      { agentHost: '127.0.0.1', agentPort: peer.port },
    );
    a.subscribe('', { kind: 'callback' }).on('event', () => {});
    await a.close();
    t.ok(FtbClient.connectionStats().connected, 'the connection stays while a client remains');
    await b.close();
    t.notOk(FtbClient.connectionStats().connected, 'the last close closes it');
  }
  // the peer's own sockets are in this process too: wait for it to see the FINs
  await waitFor('the peer to close its side of every connection', () => peer.sockets.every((s) => s.closed));
  await peer.close();
  t.equal(fdCount(), fds - 1, "only the peer's listener is gone; the client kept nothing");
  t.equal(threadCount(), threads, 'the I/O thread was joined');
});

t.test('no agent anywhere: connect fails within connectTimeoutMs, never hangs or exits', async (t) => {
  const agentPort = await closedPort();
  const silent = dgram.createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', r));
  t.teardown(() => silent.close());
  let asked = 0;
  silent.on('message', () => asked++);
  const started = Date.now();
  await t.rejects(
    FtbClient.connect(
      { eventSpace: 'CRFTB.TEST.NOAGENT', clientName: 'x' },
      { agentPort, bootstrapServer: '127.0.0.1', bootstrapPort: silent.address().port, connectTimeoutMs: 800 },
    ),
    { code: 'FTB_ERR_NETWORK_NO_ROUTE', codeNumber: -21, message: /bootstrap server 127\.0\.0\.1/ },
  );
  const took = Date.now() - started;
  t.ok(took >= 400 && took < 2000, `gave up after ${took} ms (bound 800 ms)`);
  t.ok(asked >= 2, `the bootstrap server was asked (${asked} ADDR_REQ, FTB's retry schedule)`);

  delete process.env.FTB_BSTRAP_SERVER; // node writes through to the C environment
  await t.rejects(
    FtbClient.connect({ eventSpace: 'CRFTB.TEST.NOAGENT', clientName: 'x' }, { agentPort, configFile: '/nonexistent' }),
    { code: 'FTB_ERR_NETWORK_NO_ROUTE', message: /no bootstrap server configured/ },
    'without a bootstrap server: at once, saying what to configure',
  );
});
