// The agent SIGKILLed under a publishing client (a child process), a subscribing client (this
// process) and checkpoints (this process's publisher): the publisher gets a clear coded error, the
// subscriber sees the loss, a checkpoint made meanwhile succeeds with its undeliverable BEGIN
// and its withheld END counted as dropped; when an agent returns on the same port, all three
// resume without being told to.
import t from 'tap';
import path from 'node:path';
import { FtbClient, type FtbReceivedEvent } from '../lib/ftb/client';
import { checkpoint, publisherStats } from '../lib/index';
import { CrftbProcess, type Line } from './helpers/crftb-process';
import { fixtures, killStarted, readNumber, startDetached, tempDir, waitFor } from './helpers/detached';
import { agentArgs, masksAtLeast } from './helpers/ftb-tree';

t.teardown(killStarted);

const backoff = { reconnectInitialMs: 10, reconnectMaxMs: 200 };

async function publish(pub: CrftbProcess): Promise<Line> {
  const from = pub.lines.length;
  pub.command({ op: 'publish', name: 'TEST_EVENT', count: 1 });
  return pub.waitFor((l) => l.event === 'published' || l.event === 'error', 20000, from);
}

t.test(
  'SIGKILL of the agent: clear errors, a checkpoint still succeeds, everyone resumes on a new agent',
  async (t) => {
    let agent = CrftbProcess.start(agentArgs({ statsMs: 100 }));
    t.teardown(() => agent.stop('SIGKILL'));
    const { port } = await agent.listening();
    const ftb = { agentHost: '127.0.0.1', agentPort: port, ...backoff };

    const sub = await FtbClient.connect(
      { eventSpace: 'CRFTB.TEST.WATCH', clientName: 'watch', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
      ftb,
    );
    t.teardown(() => sub.close());
    const got: FtbReceivedEvent[] = [];
    sub.subscribe('').on('event', (e) => got.push(e));

    const pub = CrftbProcess.fixture('ftb-client-process', []);
    t.teardown(() => pub.stop('SIGKILL'));
    await pub.waitFor((l) => l.event === 'ready');
    pub.command({
      op: 'connect',
      info: { eventSpace: 'CRFTB.TEST.PUB', clientName: 'pub' },
      options: { ...ftb, hostAddress: '127.0.0.1' },
    });
    await pub.waitFor((l) => l.event === 'connected');
    pub.command({ op: 'declare', events: [{ name: 'TEST_EVENT', severity: 'info' }] });
    await pub.waitFor((l) => l.event === 'declared');

    const work = tempDir('agent-faults');
    const counter = path.join(work, 'n');
    const target = startDetached(path.join(fixtures, 'counter.js'), [counter], work);
    await waitFor('the counter', () => readNumber(counter) > 2);
    const images = path.join(work, 'images');
    const crEvents = () => got.filter((e) => e.name.startsWith('CHKPT_')).map((e) => e.name);

    await masksAtLeast(agent, 1); // the agent has the subscription
    t.same((await publish(pub)).errors, [], 'a publish goes through while the agent is up');
    await checkpoint({ target: target.pid, dir: images, ftb });
    await waitFor('the first events', () => got.some((e) => e.name === 'TEST_EVENT') && crEvents().length === 2);
    t.same(crEvents(), ['CHKPT_BEGIN', 'CHKPT_END'], 'checkpoint events reach the subscriber');

    await agent.stop('SIGKILL');
    await waitFor('the subscriber to see the loss', () => !FtbClient.connectionStats().connected, 5000);
    let refused: Line | null = null;
    for (let i = 0; i < 50 && !refused; i++) {
      const line = await publish(pub);
      if ((line.errors as string[]).length) refused = line;
      else await new Promise((r) => setTimeout(r, 20));
    }
    t.same(refused?.errors, ['FTB_ERR_NETWORK_NO_ROUTE'], 'the publisher gets a coded error while no agent is there');
    const before0 = publisherStats();
    const during = await checkpoint({ target: target.pid, dir: images, ftb });
    t.equal(during.restarted, false, 'a checkpoint made while the agent is gone succeeds');
    const after0 = publisherStats();
    // BEGIN could not go out, and its END is withheld (an END is only ever published after its
    // BEGIN): both count as dropped, and nothing is published for this checkpoint.
    t.equal(after0.dropped - before0.dropped, 2, 'its BEGIN and its withheld END are counted as dropped');
    t.equal(after0.published, before0.published, 'and nothing of it is published (no END without its BEGIN)');

    agent = CrftbProcess.start(agentArgs({ port, statsMs: 100 }));
    await agent.listening();
    await waitFor('the subscriber to reconnect', () => FtbClient.connectionStats().reconnects >= 1, 10000);
    const before = got.length;
    for (let i = 0; i < 100 && !got.slice(before).some((e) => e.name === 'TEST_EVENT'); i++) {
      await publish(pub);
      await new Promise((r) => setTimeout(r, 100));
    }
    t.ok(
      got.slice(before).some((e) => e.name === 'TEST_EVENT'),
      'the publisher resumed and the subscriber receives it, neither restarted',
    );
    const crBefore = crEvents().length;
    // The checkpoint publisher remembers a failed connect for 5 s; it then reconnects by itself.
    for (let i = 0; i < 10 && crEvents().length === crBefore; i++) {
      await checkpoint({ target: target.pid, dir: images, ftb });
      await new Promise((r) => setTimeout(r, 1000));
    }
    t.same(
      crEvents().slice(crBefore, crBefore + 2),
      ['CHKPT_BEGIN', 'CHKPT_END'],
      'checkpoint events reach the subscriber again, and no stray END of the checkpoint made during the outage',
    );
    t.ok(FtbClient.connectionStats().losses >= 1, 'the loss is counted');
  },
);
