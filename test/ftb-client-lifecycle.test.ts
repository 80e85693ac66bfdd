// How the FTB client ends: explicit disposal, process exit with a live subscription, and the
// addon in a worker thread that goes away — never a hang, never a crash, the agent sees the
// connection close.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { FtbClient } from '../lib/ftb/client';
import { startRecordingAgent } from './helpers/ftb-recording-agent';
import { waitFor } from './helpers/wait';
import { dist, runNode } from './helpers/node-child';

t.test('Symbol.asyncDispose closes the client and ends its subscriptions', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const client = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.DISPOSE', clientName: 'd', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  const sub = client.subscribe('');
  const iterator = sub[Symbol.asyncIterator]();
  const pending = iterator.next();
  await client[Symbol.asyncDispose]();
  t.same(await pending, { value: undefined, done: true }, 'a waiting iterator finishes');
  t.notOk(client.connected);
  t.throws(() => client.publish('X'), { code: 'FTB_ERR_INVALID_HANDLE' });
  await client.close();
  await waitFor('manager CLIENT_DEREG sent', () =>
    peer.messages.some((m) => m.msg_type === 0x12 && m['src.client.ext'] === 1),
  );
});

t.test('process.exit() with a live callback subscription exits cleanly', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const script = `
    const { FtbClient } = require(${JSON.stringify(dist)});
    FtbClient.connect({ eventSpace: 'CRFTB.TEST.EXIT', clientName: 'e', subscriptionStyle: 'FTB_SUBSCRIPTION_BOTH' },
                      { agentHost: '127.0.0.1', agentPort: ${peer.port} })
      .then((c) => { c.subscribe('').on('event', () => {}); c.subscribe('', { kind: 'polling' }); setTimeout(() => process.exit(3), 50); });`;
  const result = await runNode(script, 10000);
  t.equal(result.code, 3, `exit code kept, no crash (stderr: ${result.stderr})`);
  await waitFor(
    'the agent side sees the connection end',
    () => peer.sockets.length === 1 && (peer.sockets[0].destroyed || peer.sockets[0].readableEnded),
  );
});

t.test('a worker thread that uses the client and terminates leaves the process healthy', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     const { FtbClient } = require(${JSON.stringify(dist)});
     FtbClient.connect({ eventSpace: 'CRFTB.TEST.WORKER', clientName: 'w', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
                       { agentHost: '127.0.0.1', agentPort: ${peer.port} })
       .then((c) => { c.subscribe('').on('event', () => {}); parentPort.postMessage('ready'); });`,
    { eval: true },
  );
  await new Promise((resolve) => worker.once('message', resolve));
  t.equal(FtbClient.connectionStats().connected, true, 'the process connection is up (shared with the worker)');
  await worker.terminate();
  await waitFor('terminating the worker disconnected its client', () => !FtbClient.connectionStats().connected);
  await waitFor(
    'client and manager CLIENT_DEREG sent',
    () => peer.messages.filter((m) => m.msg_type === 0x12).length === 2,
  );
  // and this thread can still use FTB
  const again = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.WORKER', clientName: 'main' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  await again.close();
});
