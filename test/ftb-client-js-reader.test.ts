// While a client has listeners, its JS thread reads the agent socket itself (one wake-up per
// event instead of the I/O thread waking the loop): events arrive whole and in order, the reading
// survives losing the agent (the I/O thread reconnects, the JS thread takes over again), and it
// stops when the last listener goes. A real agent, real TCP, and a relay whose cut is the loss.
import t from 'tap';
import { startAgent } from '../lib/ftb/agent';
import { FtbClient } from '../lib/ftb/client';
import { relay } from './helpers/relay';
import { waitFor } from './helpers/wait';

t.test('the listening JS thread reads the socket, across a reconnect, until the last listener goes', async (t) => {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  t.teardown(() => agent.close());
  const first = await relay(0, agent.address.port);
  const options = { agentHost: '127.0.0.1', agentPort: first.port, reconnectInitialMs: 5, reconnectMaxMs: 50 };
  const sub = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.JSREAD', clientName: 'sub', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    options,
  );
  t.teardown(() => sub.close());
  const pub = await FtbClient.connect({ eventSpace: 'CRFTB.TEST.JSREAD', clientName: 'pub' }, options);
  t.teardown(() => pub.close());
  pub.declare([{ name: 'SEQ', severity: 'info' }]);
  const subscription = sub.subscribe('event_space=CRFTB.TEST.JSREAD,event_name=SEQ');
  t.equal(FtbClient.connectionStats().readOnJsThread, false, 'nobody listens yet: the I/O thread reads');

  const seen: number[] = [];
  const listener = (e: { payload: Buffer }) => seen.push(e.payload.readUInt32LE(0));
  subscription.on('event', listener);
  await waitFor('the JS thread to read the socket', () => FtbClient.connectionStats().readOnJsThread);
  t.comment('with a listener the JS thread reads');

  const publish = (from: number, count: number) => {
    const payload = Buffer.alloc(4);
    for (let i = from; i < from + count; i++) {
      payload.writeUInt32LE(i);
      pub.publish('SEQ', { payload });
    }
  };
  publish(0, 2000); // more than one read's worth (256 events), whole and in order
  await waitFor('2000 events', () => seen.length >= 2000, 60000);
  t.same(
    seen,
    Array.from({ length: 2000 }, (_, i) => i),
    'every event, in order, none twice',
  );
  t.equal(sub.stats().callbackDropped, 0, 'none dropped');

  await first.down();
  await waitFor('the connection to be lost', () => FtbClient.connectionStats().losses >= 1);
  const second = await relay(first.port, agent.address.port);
  t.teardown(() => second.down());
  await waitFor(
    'the reconnect, read on the JS thread again',
    () => FtbClient.connectionStats().reconnects >= 1 && FtbClient.connectionStats().readOnJsThread,
  );
  t.comment('after the reconnect the JS thread reads the new socket');
  seen.length = 0;
  // The agent routes once the re-sent subscription is in: publish until the first one arrives.
  for (let i = 0; seen.length === 0 && i < 50000; i++) {
    publish(100000 + i, 1);
    await new Promise((r) => setTimeout(r, 10));
  }
  // Numbered apart from the probes, one of which may still be on its way.
  const next = 200000;
  publish(next, 500);
  const after = () => seen.filter((v) => v >= next);
  await waitFor('500 events after the reconnect', () => after().length >= 500, 60000);
  t.same(
    after(),
    Array.from({ length: 500 }, (_, i) => next + i),
    'events keep arriving whole and in order',
  );

  subscription.off('event', listener);
  await waitFor(
    'the I/O thread to read again once no listener is left',
    () => !FtbClient.connectionStats().readOnJsThread,
  );
  t.comment('the last listener gone, the I/O thread reads again');
  let late = 0;
  subscription.on('event', () => late++);
  publish(0, 10);
  await waitFor('10 late events', () => late >= 10);
  t.comment('and a new listener gets events again');
});
