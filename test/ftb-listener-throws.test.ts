// Issue 11 part 4: a listener that throws loses nothing silently. Its exception reaches the
// process as an EventEmitter listener's does ('uncaughtException', or death without a handler),
// the rest of the burst is still delivered, and stats say what happened. Real agent, real
// clients in separate processes over loopback TCP.
import t, { type Test } from 'tap';
import { startAgent, type Agent } from '../lib/ftb/agent';
import { FtbClient } from '../lib/ftb/client';
import { CrftbProcess } from './helpers/crftb-process';
import { waitFor } from './helpers/wait';

const BURST = 10;

async function setup(t: Test, mode: 'handled' | 'unhandled') {
  const agent: Agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1' });
  agent.unref();
  t.teardown(() => agent.close());
  const subscriber = CrftbProcess.fixture('ftb-listener-throws', [String(agent.address.port), mode]);
  t.teardown(() => subscriber.stop('SIGKILL'));
  await subscriber.waitFor((l) => l.event === 'subscribed');
  await waitFor('the agent knows the subscription', () => agent.stats().subscriptions >= 1);
  const publisher = await FtbClient.connect(
    { eventSpace: 'FTB.TEST.BURST', clientName: 'pub' },
    { agentHost: '127.0.0.1', agentPort: agent.address.port },
  );
  t.teardown(() => publisher.close());
  publisher.declare([{ name: 'EV', severity: 'info' }]);
  for (let i = 0; i < BURST; i++) publisher.publish('EV');
  return { agent, subscriber };
}

t.test('with an uncaughtException handler: it sees the error, every event reaches the listener', async (t) => {
  const { subscriber } = await setup(t, 'handled');
  const uncaught = await subscriber.waitFor((l) => l.event === 'uncaught', 15000);
  t.equal(uncaught.message, 'listener failed on the first event', "the listener's own error");
  await subscriber.waitFor((l) => l.event === 'called' && l.n === BURST);
  t.equal(
    subscriber.lines.filter((l) => l.event === 'called').length,
    BURST,
    `the listener ran for all ${BURST} events`,
  );
  await subscriber.waitFor((l) => l.event === 'iterated' && l.count === BURST);
  t.equal(subscriber.lines.filter((l) => l.event === 'uncaught').length, 1, 'one exception, reported once');
  subscriber.command('stats');
  const { stats } = await subscriber.waitFor((l) => l.event === 'stats');
  t.match(stats, { callbackDelivered: BURST, callbackDropped: 0, listenerErrors: 1 }, 'stats count what happened');
});

t.test('without a handler: the process dies of the exception, as with an EventEmitter', async (t) => {
  const { subscriber } = await setup(t, 'unhandled');
  const exit = await Promise.race([
    subscriber.exit(),
    new Promise<null>((r) => setTimeout(() => r(null), 15000).unref()),
  ]);
  t.equal(exit?.code, 1, 'exit code 1 (uncaught exception)');
  t.match(subscriber.stderr, /listener failed on the first event/, 'the error is printed');
  t.notMatch(subscriber.stderr, /DEP0168/, 'not swallowed into a Node-API warning');
});
