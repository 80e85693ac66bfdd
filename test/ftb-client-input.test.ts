// Bad input to the client is refused with FTB's code name (and number), and nothing reaches the
// wire: a real TCP peer records every byte the client sends.
import t from 'tap';
import { FtbClient } from '../lib/ftb/client';
import { FtbEventHandle } from '../lib/ftb/event';
import { startRecordingAgent } from './helpers/ftb-recording-agent';
import { waitFor } from './helpers/wait';

t.test('connect refuses bad client information before opening any connection', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const options = { agentHost: '127.0.0.1', agentPort: peer.port };
  const bad: [Record<string, unknown>, string, number][] = [
    [{ eventSpace: 'ABC' }, 'FTB_ERR_EVENTSPACE_FORMAT', -2],
    [{ eventSpace: 'A.B' }, 'FTB_ERR_EVENTSPACE_FORMAT', -2],
    [{ eventSpace: 'A.B-1.C' }, 'FTB_ERR_EVENTSPACE_FORMAT', -2],
    [{ eventSpace: 'A.B.C', clientName: 'x'.repeat(16) }, 'FTB_ERR_INVALID_VALUE', -4],
    [{ eventSpace: 'A.B.C', jobId: 'j'.repeat(16) }, 'FTB_ERR_INVALID_VALUE', -4],
    [{ eventSpace: 'A.B.C', subscriptionStyle: 'FTB_SUBSCRIPTION_SOMETIMES' }, 'FTB_ERR_SUBSCRIPTION_STYLE', -3],
  ];
  for (const [info, code, codeNumber] of bad) {
    await t.rejects(FtbClient.connect(info as never, options), { code, codeNumber }, JSON.stringify(info));
  }
  // A fence: a good client after them. Once its CLIENT_REG is in, anything the refused ones had
  // sent would be in too.
  const good = await FtbClient.connect({ eventSpace: 'CRFTB.TEST.INPUT', clientName: 'good' }, options);
  t.teardown(() => good.close());
  await waitFor("the good client's CLIENT_REG", () => peer.messages.length >= 1);
  t.equal(peer.connections, 1, 'no connection was opened before the good client');
  t.equal(peer.messages.length, 1, 'and nothing was sent but its CLIENT_REG');
});

t.test('declare, publish and subscribe refuse bad input and send nothing', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const client = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.INPUT', clientName: 'input', subscriptionStyle: 'FTB_SUBSCRIPTION_BOTH' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  t.teardown(() => client.close());
  await waitFor('CLIENT_REG', () => peer.messages.length >= 1);

  t.throws(() => client.declare([{ name: 'EV', severity: 'critical' }]), {
    code: 'FTB_ERR_INVALID_FIELD',
    codeNumber: -8,
  });
  t.throws(() => client.declare([{ name: 'EV-1', severity: 'info' }]), { code: 'FTB_ERR_INVALID_FIELD' });
  t.throws(() => client.declare([{ name: 'x'.repeat(32), severity: 'info' }]), { code: 'FTB_ERR_INVALID_FIELD' });
  client.declare([
    { name: 'EV_A', severity: 'info' },
    { name: 'ev_a', severity: 'fatal' },
    { name: 'EV_D', severity: 'info' },
  ]);

  t.throws(
    () => client.publish('EV_D'),
    { code: 'FTB_ERR_INVALID_EVENT_NAME', codeNumber: -12 },
    'a duplicate ends the declaration list, as in FTB',
  );
  t.throws(() => client.publish('NOPE'), { code: 'FTB_ERR_INVALID_EVENT_NAME', message: /not declared/ });
  t.throws(() => client.publish(''), { code: 'FTB_ERR_INVALID_EVENT_NAME' });
  t.throws(() => client.publish('EV_A', { eventType: 3 }), { code: 'FTB_ERR_INVALID_EVENT_TYPE', codeNumber: -13 });
  t.throws(() => client.publish('EV_A', { payload: Buffer.alloc(369) }), {
    code: 'FTB_ERR_INVALID_VALUE',
    message: /368/,
  });
  for (const [text, code] of [
    ['foo=bar', 'FTB_ERR_FILTER_ATTR'],
    ['severity=critical', 'FTB_ERR_FILTER_VALUE'],
    ['severity', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['event_space=A.B', 'FTB_ERR_EVENTSPACE_FORMAT'],
    ['severity=info,', 'FTB_ERR_SUBSCRIPTION_STR'],
  ]) {
    t.throws(() => client.subscribe(text), { code }, text);
  }

  // The good publish is the fence: sent after every refused call, it arrives after anything they sent.
  const handle = client.publish('ev_a', { payload: Buffer.alloc(368, 7) });
  t.equal(handle.seqnum, 1, 'rejected publishes consumed no seqnum');
  t.equal(handle.severity, 'info', 'severity of the first declaration');
  await waitFor('the good publish', () => peer.messages.some((m) => m['event.event_name'] === 'ev_a'));
  t.equal(peer.messages.length, 2, 'nothing but CLIENT_REG on the wire before it');
  t.equal(peer.messages[0].msg_type, 0x11, 'which is first (CLIENT_REG)');
  t.match(peer.messages[1], { msg_type: 1, 'event.event_name': 'ev_a', 'event.seqnum': 1 });
  t.ok((peer.messages[1]['event.payload'] as Buffer).equals(Buffer.alloc(368, 7)), 'all 368 payload bytes sent');
});

t.test('capabilities follow the subscription style (FTB_ERR_NOT_SUPPORTED)', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const none = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.NONE', clientName: 'n' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  const poller = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.POLL', clientName: 'p', subscriptionStyle: 'ftb_subscription_polling' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  t.teardown(async () => {
    await none.close();
    await poller.close();
  });
  t.throws(() => none.subscribe(''), { code: 'FTB_ERR_NOT_SUPPORTED', codeNumber: -7 });
  t.throws(() => none.subscribe('', { kind: 'callback' }), { code: 'FTB_ERR_NOT_SUPPORTED' });
  t.throws(() => poller.subscribe('', { kind: 'callback' }), { code: 'FTB_ERR_NOT_SUPPORTED' });
  const sub = poller.subscribe('');
  t.equal(sub.poll(), null, 'FTB_GOT_NO_EVENT is null');
  sub.unsubscribe();
  t.throws(() => sub.unsubscribe(), { code: 'FTB_ERR_INVALID_HANDLE' });
  await t.rejects(
    FtbClient.connect(
      { eventSpace: 'crftb.test.POLL', clientName: 'P' },
      { agentHost: '127.0.0.1', agentPort: peer.port },
    ),
    { code: 'FTB_ERR_DUP_CALL', codeNumber: -5 },
    'same category/component/name in one process',
  );
  t.equal(peer.connections, 1, 'all clients of the process share one connection');
});

t.test('schema files (§10.5) are read without a shell', async (t) => {
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-schema-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const client = await FtbClient.connect(
    { eventSpace: 'ftb.ftb_examples.watchdog', clientName: 'w' },
    { agentHost: '127.0.0.1', agentPort: peer.port },
  );
  t.teardown(() => client.close());
  const good = path.join(dir, 'good schema; touch pwned');
  fs.writeFileSync(
    good,
    '# watchdog\nstart\nFTB.FTB_EXAMPLES.WATCHDOG\nwatch_dog_event1 info # first\nwatch_dog_event INFO\nend\n',
  );
  client.declare({ schemaFile: good });
  t.equal(client.publish('WATCH_DOG_EVENT').severity, 'INFO');
  t.notOk(fs.existsSync(path.join(process.cwd(), 'pwned')), 'the path is not interpreted by a shell');
  const other = path.join(dir, 'other');
  fs.writeFileSync(other, 'start\nA.B.C\nx info\nend\n');
  t.throws(() => client.declare({ schemaFile: other }), { code: 'FTB_ERR_INVALID_SCHEMA_FILE', codeNumber: -11 });
  fs.writeFileSync(other, 'start\nftb.ftb_examples.watchdog\nx critical\nend\n');
  t.throws(() => client.declare({ schemaFile: other }), { code: 'FTB_ERR_INVALID_FIELD' });
  fs.writeFileSync(other, 'start\nftb.ftb_examples.watchdog\nx info\n');
  t.throws(
    () => client.declare({ schemaFile: other }),
    { code: 'FTB_ERR_INVALID_SCHEMA_FILE' },
    'end of file inside a block',
  );
  t.throws(() => client.declare({ schemaFile: path.join(dir, 'missing') }), { code: 'FTB_ERR_INVALID_SCHEMA_FILE' });
});

t.test('an event handle is 360 bytes, or the 360 at an offset of a larger buffer that has them', async (t) => {
  const pool = Buffer.alloc(720);
  pool.fill(7, 360);
  const second = new FtbEventHandle(pool, 360);
  t.equal(second.bytes.length, 360);
  t.equal(second.bytes.byteOffset - pool.byteOffset, 360, 'a view of the buffer, not a copy');
  t.ok(second.equals(new FtbEventHandle(Buffer.alloc(360, 7))), 'the same handle as its bytes alone');
  for (const [bytes, offset] of [
    [Buffer.alloc(359), undefined],
    [Buffer.alloc(361), undefined],
    [pool, 361],
    [pool, -1],
    [pool, 1.5],
    [pool, Number.NaN],
  ] as [Buffer, number | undefined][]) {
    t.throws(
      () => new FtbEventHandle(bytes, offset),
      { code: 'FTB_ERR_INVALID_HANDLE', codeNumber: -9 },
      `${bytes.length} bytes at ${offset}`,
    );
  }
});
