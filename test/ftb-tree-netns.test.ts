// Three hosts on this machine: network namespaces joined by veth pairs to a bridge (all made and
// removed here). Host 0 runs the bootstrap server and agent A, host 1 agent B, host 2 agent C;
// with fanout 1 the tree is the chain A ← B ← C. A client on host 2 subscribes, a client on
// host 0 publishes. Then the middle agent B is SIGKILLed: C re-attaches (to A), and events flow
// again to the same subscriber, which never lost its connection. Skipped, with the kernel's
// reason, where network namespaces, veth or bridges are refused.
import t from 'tap';
import { CrftbProcess } from './helpers/crftb-process';
import { startAgentTree } from './helpers/ftb-tree';
import { TestNetwork } from './helpers/netns';

const network = new TestNetwork('tree', 3, '10.213.0');
const hosts = network.hosts;

const refused = network.setup();
if (refused) {
  t.test('agent tree across network namespaces', { skip: refused }, async () => {});
} else {
  t.teardown(() => network.teardown());
  t.test('killing the middle agent: the tree heals and events flow again', async (t) => {
    const procs: CrftbProcess[] = [];
    t.teardown(async () => {
      for (const p of procs) await p.stop('SIGKILL');
    });
    const started = (p: CrftbProcess) => {
      procs.push(p);
      return p;
    };

    const { bootstrap, agents } = await startAgentTree({
      hosts,
      bootstrapArgs: ['--fanout', '1', '--liveness-interval', '500'],
      statsMs: 100,
      attachTimeoutMs: 15000,
      own: started,
    });
    const [a, b, c] = agents;
    t.equal(a.attached.level, 1, 'A is the root');
    t.equal(b.attached.parent, `${hosts[0].ip}:${a.port}`, 'B hangs under A');
    t.equal(c.attached.parent, `${hosts[1].ip}:${b.port}`, 'C hangs under B (fanout 1): B is the middle');

    const blcr = { eventSpace: 'FTB.checkpoint_sw.blcr', clientName: '' };
    const watcher = { eventSpace: 'FTB.TEST.WATCH', clientName: 'watch' };
    const sub = started(
      CrftbProcess.fixture('ftb-raw-client-process', [hosts[2].ip, String(c.port), '42002'], { netns: hosts[2].ns }),
    );
    await sub.waitFor((l) => l.event === 'ready');
    sub.command({ op: 'register', who: watcher });
    sub.command({ op: 'subscribe', who: watcher, subscription: 'event_space=FTB.checkpoint_sw.blcr' });
    await a.proc.waitFor((l) => l.event === 'stats' && l.stats.subscriptions >= 1, 10000, a.proc.lines.length);

    const pub = started(
      CrftbProcess.fixture('ftb-raw-client-process', [hosts[0].ip, String(a.port), '42001'], { netns: hosts[0].ns }),
    );
    await pub.waitFor((l) => l.event === 'ready');
    pub.command({ op: 'register', who: blcr });
    pub.command({ op: 'publish', who: blcr, name: 'CHKPT_BEGIN', severity: 'INFO', type: 1 });
    const before = await sub.waitFor((l) => l.event === 'notify');
    t.equal(before.name, 'CHKPT_BEGIN', 'an event crosses three hosts (A → B → C)');
    t.equal(before.srcPid, 42001, 'from the publisher on host 0');

    const from = c.proc.lines.length;
    const aFrom = a.proc.lines.length;
    const bootstrapFrom = bootstrap.lines.length;
    await b.proc.stop('SIGKILL');
    await c.proc.waitFor((l) => l.event === 'parent-lost', 10000, from);
    const healed = await c.proc.waitFor((l) => l.event === 'attached', 20000, from);
    t.equal(healed.parent, `${hosts[0].ip}:${a.port}`, 'C re-attaches to A');
    t.equal(healed.level, 2, 'one level up');
    await a.proc.waitFor(
      (l) => l.event === 'stats' && l.stats.subscriptions >= 1 && l.stats.agents === 1,
      10000,
      aFrom,
    );

    pub.command({ op: 'publish', who: blcr, name: 'CHKPT_END', severity: 'INFO', type: 2 });
    const after = await sub.waitFor((l) => l.event === 'notify' && l.name === 'CHKPT_END', 10000);
    t.equal(after.seq, 2, 'the next event reaches the same subscriber after the heal');
    t.notOk(
      sub.lines.some((l) => l.event === 'closed'),
      'the subscriber never lost its connection to C',
    );

    type Entry = { address: string; level: number };
    const gone = await bootstrap.waitFor(
      (l) =>
        l.event === 'agents' &&
        !l.agents.some((e: Entry) => e.address === hosts[1].ip) &&
        l.agents.some((e: Entry) => e.address === hosts[2].ip && e.level === 2),
      10000,
      bootstrapFrom,
    );
    t.same(
      gone.agents.map((e: Entry) => [e.address, e.level]).sort(),
      [
        [hosts[0].ip, 1],
        [hosts[2].ip, 2],
      ],
      'the bootstrap server forgot the dead agent and knows C at its new level',
    );
  });
}
