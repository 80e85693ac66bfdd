// Issue 11 part 3: an agent never advertises an address it does not listen on. With the
// default bind (127.0.0.1) and no --advertise, agents on one host form one tree through the
// bootstrap server and events cross it; an advertise address the agent does not listen on is
// refused up front. Real agents, bootstrap server and client processes over loopback.
import t from 'tap';
import { startAgent, Agent } from '../lib/ftb/agent';
import { startBootstrap } from '../lib/ftb/bootstrap';
import { FtbClient } from '../lib/ftb/client';
import { CrftbProcess } from './helpers/crftb-process';
import { waitFor } from './helpers/wait';

function attachedWithin(agent: Agent, ms: number) {
  return Promise.race([agent.attached(), new Promise<null>((r) => setTimeout(() => r(null), ms).unref())]);
}

t.test('default bind, no advertise option: agents on one host form one tree and events cross it', async (t) => {
  const server = await startBootstrap({ port: 0, livenessIntervalMs: 0 });
  t.teardown(() => server.close());
  const options = { port: 0, bootstrapServer: '127.0.0.1', bootstrapPort: server.address.port };
  const root = await startAgent(options);
  root.unref();
  t.teardown(() => root.close());
  t.equal(root.address.advertise, '127.0.0.1', 'it advertises the address it listens on');
  t.ok(await attachedWithin(root, 10000), 'root attached');
  t.same(
    server.stats().agents.map((a) => `${a.address}:${a.port}`),
    [`127.0.0.1:${root.address.port}`],
    'and registers it',
  );

  const child = await startAgent(options);
  child.unref();
  t.teardown(() => child.close());
  const attached = await attachedWithin(child, 10000);
  t.equal(attached?.parent, `127.0.0.1:${root.address.port}`, 'a second agent attaches to it as a child');

  const subscriber = CrftbProcess.fixture('ftb-client-process', []);
  t.teardown(() => subscriber.stop('SIGKILL'));
  await subscriber.waitFor((l) => l.event === 'ready');
  subscriber.command({
    op: 'connect',
    info: { eventSpace: 'FTB.TEST.SUBS', clientName: 's', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    options: { agentHost: '127.0.0.1', agentPort: root.address.port },
  });
  await subscriber.waitFor((l) => l.event === 'connected');
  subscriber.command({ op: 'subscribe', subscription: 'event_space=FTB.TEST.TREE', kind: 'callback' });
  await subscriber.waitFor((l) => l.event === 'subscribed');
  await waitFor('the subscription reached the child agent', () => child.stats().subscriptions >= 1);

  const publisher = await FtbClient.connect(
    { eventSpace: 'FTB.TEST.TREE', clientName: 'p' },
    { agentHost: '127.0.0.1', agentPort: child.address.port },
  );
  t.teardown(() => publisher.close());
  publisher.declare([{ name: 'EV', severity: 'info' }]);
  for (let i = 0; i < 6; i++) publisher.publish('EV');
  await subscriber.waitFor((l) => l.event === 'event' && l.seqnum === 6, 10000);
  t.equal(
    subscriber.lines.filter((l) => l.event === 'event').length,
    6,
    "6 of 6 events published under the child reach the root's subscriber",
  );
});

t.test('an advertise address the agent does not listen on is refused', async (t) => {
  t.throws(() => startAgentSync({ port: 0, bootstrap: false, host: '127.0.0.1', advertiseAddress: '10.1.2.3' }), {
    code: 'EINVAL',
    message: /not where this agent listens/,
  });
  t.throws(() => startAgentSync({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1 junk' }), { code: 'EINVAL' });
  const everywhere = new Agent({ port: 0, bootstrap: false, host: '0.0.0.0', advertiseAddress: '127.0.0.1' });
  everywhere.unref();
  t.teardown(() => everywhere.close());
  t.equal(everywhere.address.advertise, '127.0.0.1', 'listening on every address, any of them may be advertised');
});

function startAgentSync(options: ConstructorParameters<typeof Agent>[0]): Agent {
  const agent = new Agent(options);
  agent.unref();
  void agent.close();
  return agent;
}
