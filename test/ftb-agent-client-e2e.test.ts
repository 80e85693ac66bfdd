// End to end with crftb's own FTB client: a bootstrap server and two agents as processes, a
// publisher (FtbClient, this process) on agent A declaring and publishing BLCR's six checkpoint
// events, and `crftb events` on agent B as the subscriber printing one JSON line per event.
import t from 'tap';
import { FtbClient } from '../lib/ftb/client';
import { CrftbProcess } from './helpers/crftb-process';
import { startTree, masksAtLeast } from './helpers/ftb-tree';

t.test('six checkpoint events from an FtbClient on A reach `crftb events` on B', async (t) => {
  const {
    agents: [a, b],
  } = await startTree(t, 2);
  const events = CrftbProcess.start([
    'events',
    'event_space=FTB.checkpoint_sw.blcr',
    '--agent',
    `127.0.0.1:${b.port}`,
    '--count',
    '6',
  ]);
  t.teardown(() => events.stop('SIGKILL'));
  await events.waitFor((l) => l.event === 'ready');
  await masksAtLeast(a.proc, 1);

  const publisher = await FtbClient.connect(
    { eventSpace: 'FTB.checkpoint_sw.blcr' },
    { agentHost: '127.0.0.1', agentPort: a.port, reconnect: false },
  );
  t.teardown(() => publisher.close());
  publisher.declare([
    { name: 'CHKPT_BEGIN', severity: 'INFO' },
    { name: 'CHKPT_END', severity: 'INFO' },
    { name: 'CHKPT_ERROR', severity: 'ERROR' },
    { name: 'RSTRT_BEGIN', severity: 'INFO' },
    { name: 'RSTRT_END', severity: 'INFO' },
    { name: 'RSTRT_ERROR', severity: 'ERROR' },
  ]);
  const sent: { name: string; eventType: number; payload: Buffer }[] = [];
  for (const phase of ['CHKPT', 'RSTRT']) {
    const begin = publisher.publish(`${phase}_BEGIN`);
    sent.push({ name: `${phase}_BEGIN`, eventType: 1, payload: Buffer.alloc(368) });
    const end = Buffer.alloc(368);
    begin.bytes.copy(end);
    publisher.publish(`${phase}_END`, { eventType: 2, payload: end });
    sent.push({ name: `${phase}_END`, eventType: 2, payload: end });
    const error = Buffer.from(end);
    error.writeInt32LE(28, begin.bytes.length); // ENOSPC
    publisher.publish(`${phase}_ERROR`, { eventType: 2, payload: error });
    sent.push({ name: `${phase}_ERROR`, eventType: 2, payload: error });
  }

  const closed = await events.waitFor((l) => l.event === 'closed', 10000);
  t.equal(closed.events, 6, 'crftb events stopped after --count 6');
  const got = events.lines.filter((l) => l.event === 'event');
  t.same(
    got.map((l) => l.name),
    sent.map((s) => s.name),
    'all six, in publication order',
  );
  got.forEach((line, i) => {
    t.equal(line.space, 'FTB.checkpoint_sw.blcr');
    t.equal(line.severity, sent[i].name.endsWith('ERROR') ? 'ERROR' : 'INFO');
    t.equal(line.eventType, sent[i].eventType);
    t.equal(line.sourcePid, process.pid, 'the publisher is this process');
    t.ok(
      Buffer.from(line.payload, 'base64').equals(sent[i].payload),
      `${line.name}: payload byte for byte (handle, errno)`,
    );
  });
  const began = Date.now();
  const exit = await events.exit();
  t.same(exit, { code: 0, signal: null }, `crftb events exits by itself with status 0 (stderr: ${events.stderr})`);
  t.comment(`exited ${Date.now() - began} ms after its last line`);
});
