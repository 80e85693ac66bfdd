// FtbClient.connect takes an AbortSignal (issue 11 §1): against a peer that accepts and never
// answers the handshake (a real TCP server on loopback), an abort ends the connect at once with an
// AbortError instead of after connectTimeoutMs; an already aborted signal connects nothing; a
// connect that succeeds after the abort is closed again.
import t from 'tap';
import net from 'node:net';
import { FtbClient } from '../lib/ftb/client';
import { startAgent } from '../lib/ftb/agent';
import { waitFor } from './helpers/wait';

const info = {
  eventSpace: 'CRFTB.TEST.ABORT',
  clientName: 'aborter',
  subscriptionStyle: 'FTB_SUBSCRIPTION_NONE',
} as const;

t.test('an abort ends a connect to a silent peer at once', async (t) => {
  const sockets: net.Socket[] = [];
  const silent = net.createServer((s) => sockets.push(s.on('error', () => {})));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });
  const agentPort = (silent.address() as net.AddressInfo).port;
  const controller = new AbortController();
  const reason = new Error('giving up');
  const started = Date.now();
  const connecting = FtbClient.connect(
    info,
    { agentHost: '127.0.0.1', agentPort, connectTimeoutMs: 20000, reconnect: false },
    controller.signal,
  );
  await new Promise<void>((resolve) => silent.once('connection', () => resolve()));
  controller.abort(reason);
  const error = await connecting.then(
    () => null,
    (e) => e,
  );
  t.match(error, { name: 'AbortError', code: 'ABORT_ERR' }, 'rejects with an AbortError');
  t.equal(error?.cause, reason, "carrying the signal's reason");
  t.ok(Date.now() - started < 5000, `at once, not after connectTimeoutMs (${Date.now() - started} ms)`);
  await t.rejects(
    FtbClient.connect(info, { agentHost: '127.0.0.1', agentPort }, AbortSignal.abort()),
    { name: 'AbortError' },
    'an already aborted signal rejects before connecting',
  );
  await t.rejects(
    FtbClient.connect(info, {}, 'nope' as never),
    { code: 'EINVAL' },
    'a signal that is not an AbortSignal is refused',
  );
});

t.test('a connect that completes after its abort is closed', async (t) => {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  t.teardown(() => agent.close());
  const controller = new AbortController();
  const connecting = FtbClient.connect(
    info,
    { agentHost: '127.0.0.1', agentPort: agent.address.port },
    controller.signal,
  );
  controller.abort();
  await t.rejects(connecting, { name: 'AbortError' });
  await waitFor('no client to stay registered at the agent', () => agent.stats().clients === 0, 10000);
});
