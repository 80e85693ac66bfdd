// A real tree: `crftb bootstrap` and two `crftb agent` processes on loopback; BLCR's six
// checkpoint events published by a client of agent A reach subscribers on agent B (and only the
// ones they asked for), byte-exact in the fields FTB defines. Then the processes stop on SIGTERM,
// promptly and cleanly. Clients are raw TCP peers built with the addon's codec.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ftbRules, type WireObject } from '../lib/ftb/native';
import { CrftbProcess } from './helpers/crftb-process';
import { agentArgs, masksAtLeast, startTree } from './helpers/ftb-tree';
import { RawClient } from './helpers/ftb-raw-client';

const BLCR = { eventSpace: 'FTB.checkpoint_sw.blcr', clientName: '', jobId: '' };

/** The payload of a type-2 event: the BEGIN event's handle, and for ERROR a 4-byte errno after it. */
function followUp(begin: { name: string; seqnum: number; pid: number; start: string }, errno?: number): Buffer {
  const handle = ftbRules.encode('eventHandle', {
    event_name: begin.name,
    severity: 'INFO',
    'client.region': 'FTB',
    'client.comp_cat': 'checkpoint_sw',
    'client.comp': 'blcr',
    'client.client_name': '',
    'client.ext': 0,
    seqnum: begin.seqnum,
    'location.hostname': '127.0.0.1',
    'location.pid_starttime': begin.start,
    'location.pid': begin.pid,
  });
  const payload = Buffer.alloc(368);
  handle.copy(payload);
  if (errno !== undefined) payload.writeInt32LE(errno, handle.length);
  return payload;
}

t.test('six checkpoint events cross a two-agent tree to the subscribers that asked for them', async (t) => {
  const {
    bootstrap,
    agents: [a, b],
  } = await startTree(t, 2);
  const attachedA = a.proc.lines.find((l) => l.event === 'attached')!;
  const attachedB = b.proc.lines.find((l) => l.event === 'attached')!;
  t.equal(attachedA.level, 1, 'the first agent is the root');
  t.equal(attachedB.level, 2, 'the second attaches under it');
  t.equal(attachedB.parent, `127.0.0.1:${a.port}`);

  const all = await RawClient.connect(b.port, 40001);
  const errorsOnly = await RawClient.connect(b.port, 40002);
  t.teardown(() => {
    all.close();
    errorsOnly.close();
  });
  const subAll = { eventSpace: 'FTB.TEST.SUB', clientName: 'sub_all' };
  const subErr = { eventSpace: 'FTB.TEST.SUB', clientName: 'sub_err' };
  all.register(subAll);
  all.subscribe(subAll, 'event_space=FTB.checkpoint_sw.blcr');
  errorsOnly.register(subErr);
  errorsOnly.subscribe(subErr, 'event_space=FTB.checkpoint_sw.blcr, severity=error');
  await masksAtLeast(a.proc, 2);

  const publisher = await RawClient.connect(a.port, 40003);
  t.teardown(() => publisher.close());
  publisher.register(BLCR);
  const published: { name: string; severity: string; type: number; payload: Buffer<ArrayBufferLike> }[] = [];
  for (const phase of ['CHKPT', 'RSTRT']) {
    const begin = { name: `${phase}_BEGIN`, seqnum: 0, pid: publisher.pid, start: publisher.start };
    begin.seqnum = publisher.publish(BLCR, begin.name, 'INFO', 1);
    published.push({ name: begin.name, severity: 'INFO', type: 1, payload: Buffer.alloc(368) });
    for (const [name, severity, errno] of [
      [`${phase}_END`, 'INFO', undefined],
      [`${phase}_ERROR`, 'ERROR', 11],
    ] as const) {
      const payload = followUp(begin, errno);
      publisher.publish(BLCR, name, severity, 2, payload);
      published.push({ name, severity, type: 2, payload });
    }
  }

  const check = (got: WireObject | null, want: (typeof published)[number], client: RawClient, name: string) => {
    t.ok(got, `${name} received ${want.name}`);
    if (!got) return;
    t.equal(got.msg_type, 1);
    t.equal(got['event.event_name'], want.name);
    t.equal(got['event.severity'], want.severity);
    t.equal(got['event.event_type'], want.type);
    t.ok((got['event.payload'] as Buffer).equals(want.payload), `${want.name}: payload byte for byte`);
    t.equal(got['src.location.pid'], publisher.pid, 'src is the publisher, unchanged across agents');
    t.equal(`${got['event.region']}.${got['event.comp_cat']}.${got['event.comp']}`, BLCR.eventSpace);
    t.equal(got['dst.client.client_name'], name, 'dst names the subscribing client');
    t.equal(got['dst.location.pid'], client.pid);
  };
  for (const want of published) check(await all.next(), want, all, 'sub_all');
  for (const want of published.filter((p) => p.severity === 'ERROR'))
    check(await errorsOnly.next(), want, errorsOnly, 'sub_err');
  t.equal(await errorsOnly.next(300), null, 'nothing else for the error-only subscriber');

  // SIGTERM: each process leaves promptly with status 0 and says so.
  for (const proc of [b.proc, a.proc, bootstrap]) {
    const began = Date.now();
    const exit = await proc.stop('SIGTERM');
    t.equal(exit.code, 0, 'exit status 0 on SIGTERM');
    t.ok(Date.now() - began < 3000, `stopped within 3 s (${Date.now() - began} ms)`);
    t.ok(
      proc.lines.some((l) => l.event === 'closed'),
      'reported closed',
    );
  }
  const closedA = a.proc.lines.find((l) => l.event === 'closed')!;
  t.ok(closedA.stats.eventsRouted >= 6, 'A routed the events');
  t.equal(closedA.stats.eventsDropped, 0, 'nothing dropped');
});

t.test('a SIGKILLed parent: the child re-attaches, local subscribers see only a gap', async (t) => {
  const {
    agents: [a, b],
  } = await startTree(t, 2);
  const sub = await RawClient.connect(b.port, 41001);
  t.teardown(() => sub.close());
  const who = { eventSpace: 'FTB.TEST.SUB', clientName: 'survivor' };
  sub.register(who);
  sub.subscribe(who, 'event_name=CHKPT_BEGIN');
  await masksAtLeast(a.proc, 1);

  const from = b.proc.lines.length;
  await a.proc.stop('SIGKILL');
  await b.proc.waitFor((l) => l.event === 'parent-lost', 10000, from);
  const healed = await b.proc.waitFor((l) => l.event === 'attached', 15000, from);
  t.equal(healed.level, 1, 'the orphan becomes the root: the dead root does not block it');

  // A new agent joins the healed tree (under B) and its publisher reaches B's old subscriber.
  const { bootstrapPort } = { bootstrapPort: Number(b.proc.lines[0].address.bootstrap.split(':')[1]) };
  const c = CrftbProcess.start(agentArgs({ bootstrap: `127.0.0.1:${bootstrapPort}`, statsMs: 100 }));
  t.teardown(() => c.stop('SIGKILL'));
  const { port: cPort } = await c.listening();
  const attached = await c.waitFor((l) => l.event === 'attached');
  t.equal(attached.parent, `127.0.0.1:${b.port}`, 'the newcomer attaches to the surviving agent');
  await masksAtLeast(c, 1);
  const publisher = await RawClient.connect(cPort, 41002);
  t.teardown(() => publisher.close());
  publisher.register(BLCR);
  publisher.publish(BLCR, 'CHKPT_BEGIN', 'INFO', 1);
  const got = await sub.next();
  t.equal(got?.['event.event_name'], 'CHKPT_BEGIN', 'the subscriber, never disconnected, gets the event');
  t.notOk(sub.peer.ended, 'its connection to B was never closed');
});

t.test('configuration as FTB reads it: environment, then FTB_CONFIG_FILE', async (t) => {
  const bootstrap = CrftbProcess.start(['bootstrap', '--port', '0']);
  t.teardown(() => bootstrap.stop('SIGKILL'));
  const { port: bootstrapPort } = await bootstrap.listening();

  const env = {
    ...process.env,
    FTB_BSTRAP_SERVER: '127.0.0.1',
    FTB_BSTRAP_PORT: String(bootstrapPort),
    FTB_AGENT_PORT: '0',
  };
  const fromEnv = CrftbProcess.start(['agent', '--advertise', '127.0.0.1'], { env });
  t.teardown(() => fromEnv.stop('SIGKILL'));
  const address = await fromEnv.listening();
  t.equal(
    (address as { bootstrap?: string }).bootstrap,
    `127.0.0.1:${bootstrapPort}`,
    'bootstrap server from FTB_BSTRAP_SERVER/FTB_BSTRAP_PORT',
  );
  t.not(address.port, 10809, 'FTB_AGENT_PORT=0 gives a free port, not the default');
  t.equal((await fromEnv.waitFor((l) => l.event === 'attached')).level, 1);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-config-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ftb.conf');
  fs.writeFileSync(file, `FTB_BSTRAP_SERVER=127.0.0.1\nFTB_BSTRAP_PORT=${bootstrapPort}\nFTB_AGENT_PORT=0\n`);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('FTB_')));
  const fromFile = CrftbProcess.start(['agent', '--advertise', '127.0.0.1'], {
    env: { ...clean, FTB_CONFIG_FILE: file },
  });
  t.teardown(() => fromFile.stop('SIGKILL'));
  const second = await fromFile.listening();
  t.equal(
    (second as { bootstrap?: string }).bootstrap,
    `127.0.0.1:${bootstrapPort}`,
    'bootstrap server from the config file',
  );
  const attached = await fromFile.waitFor((l) => l.event === 'attached');
  t.equal(attached.parent, `127.0.0.1:${address.port}`, 'and it joins the tree under the first agent');

  const standalone = CrftbProcess.start(['agent', '--port', '0', '--advertise', '127.0.0.1'], { env: clean });
  t.teardown(() => standalone.stop('SIGKILL'));
  t.equal(
    ((await standalone.listening()) as { bootstrap?: string }).bootstrap,
    null,
    'no bootstrap server anywhere: a standalone agent',
  );
});
