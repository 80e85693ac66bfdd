// FTB's rules as implemented once in native/ftb/ (codes, names, subscription strings, matching,
// configuration, identities, bootstrap exchange), checked against PROTOCOL.md and the probe
// results measured on the real FTB 0.6.2 (evidence/probe-results.txt).
import t from 'tap';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ftbRules as r } from '../lib/ftb/native';

const codes: [number, string][] = [
  [0, 'FTB_SUCCESS'],
  [-1, 'FTB_ERR_GENERAL'],
  [-2, 'FTB_ERR_EVENTSPACE_FORMAT'],
  [-3, 'FTB_ERR_SUBSCRIPTION_STYLE'],
  [-4, 'FTB_ERR_INVALID_VALUE'],
  [-5, 'FTB_ERR_DUP_CALL'],
  [-6, 'FTB_ERR_NULL_POINTER'],
  [-7, 'FTB_ERR_NOT_SUPPORTED'],
  [-8, 'FTB_ERR_INVALID_FIELD'],
  [-9, 'FTB_ERR_INVALID_HANDLE'],
  [-10, 'FTB_ERR_DUP_EVENT'],
  [-11, 'FTB_ERR_INVALID_SCHEMA_FILE'],
  [-12, 'FTB_ERR_INVALID_EVENT_NAME'],
  [-13, 'FTB_ERR_INVALID_EVENT_TYPE'],
  [-14, 'FTB_ERR_SUBSCRIPTION_STR'],
  [-15, 'FTB_ERR_FILTER_ATTR'],
  [-16, 'FTB_ERR_FILTER_VALUE'],
  [-17, 'FTB_GOT_NO_EVENT'],
  [-18, 'FTB_FAILURE'],
  [-19, 'FTB_ERR_INVALID_PARAMETER'],
  [-20, 'FTB_ERR_NETWORK_GENERAL'],
  [-21, 'FTB_ERR_NETWORK_NO_ROUTE'],
];

t.test('return codes 0 … -21 and their names (§13)', async (t) => {
  for (const [value, name] of codes) t.equal(r.codeName(value), name, `${value}`);
  t.equal(r.codeName(-22), null, 'dynamic-tag codes are compiled out');
  t.equal(r.codeName(1), null);
});

t.test('event spaces (§10.1): errors never crash, carry code and codeNumber', async (t) => {
  t.same(r.parseEventSpace('FTB.checkpoint_sw.blcr'), { region: 'FTB', comp_cat: 'checkpoint_sw', comp: 'blcr' });
  t.same(r.parseEventSpace('ftb.all.watchdog'), { region: 'ftb', comp_cat: 'all', comp: 'watchdog' });
  for (const bad of [
    'ABC',
    'A.B',
    '',
    '.',
    '..',
    'A.B.C.D',
    'A..C',
    'A.B.',
    'A.B-1.C',
    'A.B C.D',
    `A.B.${'c'.repeat(60)}`,
  ]) {
    t.throws(() => r.parseEventSpace(bad), { code: 'FTB_ERR_EVENTSPACE_FORMAT', codeNumber: -2 }, `'${bad}'`);
  }
  t.doesNotThrow(() => r.parseEventSpace(`A.B.${'c'.repeat(59)}`), '63 characters are allowed');
});

t.test('client information (§10.2) in FTB_Connect check order', async (t) => {
  t.equal(r.validateClient('FTB_SUBSCRIPTION_NONE', 'X.Y.Z', '', ''), 0);
  t.equal(r.validateClient('ftb_subscription_polling', 'X.Y.Z', 'c', 'j'), 1, 'style ignores case');
  t.equal(r.validateClient('FTB_SUBSCRIPTION_NOTIFY', 'X.Y.Z', 'c', 'j'), 2);
  t.equal(r.validateClient('FTB_SUBSCRIPTION_BOTH', 'X.Y.Z', 'c', 'j'), 3);
  t.throws(() => r.validateClient('bogus', 'ABC', 'c', 'j'), { code: 'FTB_ERR_SUBSCRIPTION_STYLE', codeNumber: -3 });
  t.throws(() => r.validateClient('FTB_SUBSCRIPTION_NONE', 'ABC', 'x'.repeat(16), 'j'), {
    code: 'FTB_ERR_EVENTSPACE_FORMAT',
  });
  t.throws(() => r.validateClient('FTB_SUBSCRIPTION_NONE', 'A.B.C', 'x'.repeat(16), 'j'), {
    code: 'FTB_ERR_INVALID_VALUE',
    codeNumber: -4,
  });
  t.throws(() => r.validateClient('FTB_SUBSCRIPTION_NONE', 'A.B.C', 'c', 'j'.repeat(16)), {
    code: 'FTB_ERR_INVALID_VALUE',
  });
  t.doesNotThrow(() => r.validateClient('FTB_SUBSCRIPTION_NONE', 'A.B.C', 'trial-watchdog', 'x'.repeat(15)));
});

t.test('declarations (§10.4, probe 12)', async (t) => {
  t.doesNotThrow(() => r.validateDeclaration('CHKPT_BEGIN', 'INFO'));
  t.doesNotThrow(() => r.validateDeclaration('ev_a', 'Warning'));
  for (const [name, severity] of [
    ['EV_A', 'critical'],
    ['EV-1', 'info'],
    ['EV_A', 'all'],
    ['', 'info'],
    ['x'.repeat(32), 'info'],
  ]) {
    t.throws(
      () => r.validateDeclaration(name, severity),
      { code: 'FTB_ERR_INVALID_FIELD', codeNumber: -8 },
      `${name}/${severity}`,
    );
  }
});

const ALL8 = ['region', 'comp_cat', 'comp', 'event_name', 'severity', 'client_jobid', 'client_name', 'hostname'];

t.test('subscription strings: probe 13 of the real FTB, code for code', async (t) => {
  const cases: [string, string | null][] = [
    ['', null],
    ['foo=bar', 'FTB_ERR_FILTER_ATTR'],
    ['severity=bogus', 'FTB_ERR_FILTER_VALUE'],
    ['severity=INFO', null],
    ['severity=info,severity=info', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity=', 'FTB_ERR_SUBSCRIPTION_STR'],
    [' event_name = X ', null],
    ['event name=X', 'FTB_ERR_FILTER_ATTR'],
    ['event_name=X Y', 'FTB_ERR_FILTER_VALUE'],
    ['event_name=a-b.c', null],
    ['jobid=0123456789abcdef', 'FTB_ERR_FILTER_VALUE'],
    ['jobid=0123456789abcde', null],
    ['host_name=127.0.0.1', null],
    ['hostname=127.0.0.1', 'FTB_ERR_FILTER_ATTR'],
    ['client_name=x,jobid=1', null],
    ['event_space=ftb.all.all', null],
    ['event_space=a.b.c.d', 'FTB_ERR_EVENTSPACE_FORMAT'],
    ['event_space=ab', 'FTB_ERR_EVENTSPACE_FORMAT'],
    ['severity=info=extra', null],
    ['severity=info,', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['EVENT_NAME=x', null],
    [Array.from({ length: 11 }, (_, i) => `jobid=${i}`).join(','), 'FTB_ERR_SUBSCRIPTION_STR'],
    [`event_name=${'e'.repeat(32)}`, 'FTB_ERR_FILTER_VALUE'],
    [`host_name=${'h'.repeat(64)}`, 'FTB_ERR_FILTER_VALUE'],
  ];
  for (const [text, code] of cases) {
    if (code === null) t.doesNotThrow(() => r.parseSubscription(text), `'${text}' accepted`);
    else t.throws(() => r.parseSubscription(text), { code }, `'${text}' → ${code}`);
  }
});

t.test('masks as seen on the wire (§11.1 examples, goldens 12 and 19)', async (t) => {
  const everything = r.parseSubscription('');
  for (const f of ALL8) t.equal(everything[f], 'all', `${f} defaults to all`);
  const m = r.parseSubscription('event_space=FTB.TEST.PUB, event_name=TEST_EVENT');
  t.match(m, {
    region: 'FTB',
    comp_cat: 'TEST',
    comp: 'PUB',
    event_name: 'TEST_EVENT',
    severity: 'all',
    client_jobid: 'all',
    client_name: 'all',
    hostname: 'all',
  });
  t.match(r.parseSubscription('severity=warning'), { severity: 'warning', region: 'all' });
  t.match(r.parseSubscription('event_space=ftb.all.watchdog'), { region: 'ftb', comp_cat: 'all', comp: 'watchdog' });
  const bytes = r.encode('event', m);
  t.equal(bytes.length, 708);
  t.ok(
    bytes.subarray(336).every((b) => b === 0),
    'seqnum, type and payload of a mask are zero',
  );
});

t.test('matching (§11.3) including the event-name short-cut (probe 21)', async (t) => {
  const ev = {
    region: 'X',
    comp_cat: 'Y',
    comp: 'Z',
    event_name: 'EV_A',
    severity: 'info',
    client_jobid: 'j1',
    client_name: 'c1',
    hostname: '10.0.0.1',
  };
  const yes = (s: string) => t.ok(r.matches(ev, r.parseSubscription(s)), `'${s}' matches`);
  const no = (s: string) => t.notOk(r.matches(ev, r.parseSubscription(s)), `'${s}' does not match`);
  yes('');
  yes('event_space=X.OTHER.OTHER,event_name=EV_A,severity=fatal');
  yes('event_name=ev_a');
  yes('event_space=x.y.z, severity=INFO');
  yes('event_space=all.Y.all');
  yes('jobid=J1, client_name=C1, host_name=10.0.0.1');
  no('event_name=EV_B');
  no('event_space=OTHER.Y.Z,event_name=EV_A');
  no('severity=fatal');
  no('event_space=X.Y.OTHER');
  no('jobid=j2');
  no('host_name=10.0.0.2');
  no('client_name=c2,event_name=EV_A');
});

t.test('mask identity: agents compare 8 fields, libftb lists 4 (§11.4)', async (t) => {
  const a = r.parseSubscription('jobid=1');
  const b = r.parseSubscription('JOBID=1');
  const c = r.parseSubscription('jobid=2');
  t.same(r.sameMask(a, b), { agent: true, libftbList: true }, 'case ignored');
  t.same(r.sameMask(a, c), { agent: false, libftbList: true }, 'jobid is invisible to the libftb list');
  t.same(r.sameMask(r.parseSubscription('severity=info'), r.parseSubscription('severity=fatal')), {
    agent: false,
    libftbList: false,
  });
});

t.test('configuration resolution (§2): override > env > FTB_CONFIG_FILE > default', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-cfg-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'ftb.conf');
  fs.writeFileSync(file, '#FTB_AGENT_PORT=1\nFTB_AGENT_PORT=2\nFTB_BSTRAP_SERVER=10.1.2.3\nFTB_BSTRAP_PORT=777x\n');
  t.match(r.resolveConfig({}), {
    agentPort: 10809,
    bootstrapPort: 14455,
    bootstrapServer: null,
    agentPortSource: 'default',
  });
  t.match(r.resolveConfig({ FTB_CONFIG_FILE: file }), {
    agentPort: 1,
    agentPortSource: 'file', // FTB's quirk: a commented line containing the key wins
    bootstrapServer: '10.1.2.3',
    bootstrapPort: 777,
  });
  t.match(r.resolveConfig({ FTB_CONFIG_FILE: file, FTB_AGENT_PORT: '4242', FTB_BSTRAP_SERVER: 'localhost' }), {
    agentPort: 4242,
    agentPortSource: 'env',
    bootstrapServer: 'localhost',
    bootstrapPort: 777,
  });
  t.match(r.resolveConfig({ FTB_AGENT_PORT: '' }), { agentPort: 0, agentPortSource: 'env' }, 'empty counts as set');
  t.match(
    r.resolveConfig(
      { FTB_AGENT_PORT: '4242', FTB_CONFIG_FILE: file },
      { agentPort: 5, bootstrapServer: '127.0.0.1', configFile: '/nonexistent' },
    ),
    {
      agentPort: 5,
      agentPortSource: 'override',
      bootstrapServer: '127.0.0.1',
      bootstrapPort: 14455,
    },
  );
  t.match(r.resolveConfig({ FTB_CONFIG_FILE: '/nonexistent/ftb.conf' }), { agentPort: 10809 });
  fs.writeFileSync(file, 'FTB_AGENT_PORT\nFTB_AGENT_PORT=9\n');
  t.match(r.resolveConfig({ FTB_CONFIG_FILE: file }), { agentPort: 9 }, 'a key line without = is skipped, not overrun');
});

t.test('FTB addresses (§2.3): localhost or dotted quad, never DNS', async (t) => {
  t.equal(r.parseFtbAddress('localhost'), '127.0.0.1');
  t.equal(r.parseFtbAddress('10.1.2.3'), '10.1.2.3');
  t.equal(r.parseFtbAddress('10.1.2.3\n'), '10.1.2.3', 'trailing newline tolerated as inet_aton does');
  t.equal(r.parseFtbAddress('LOCALHOST'), null);
  t.equal(r.parseFtbAddress('example.org'), null);
  t.equal(r.parseFtbAddress(''), null);
});

t.test('identities (§2.4, §3)', async (t) => {
  t.match(
    r.formatStartTime(Date.UTC(2009, 10, 24, 23, 33, 42) / 1000),
    /^[A-Z][a-z]{2}_[A-Z][a-z]{2}_\d{2}_\d{3}_\d{2}:\d{2}:\d{2}$/,
  );
  const addr = r.processAddress();
  t.type(addr, 'string');
  t.not(addr.startsWith('127.'), true, 'loopback is never the process address');
  t.match(r.managerClientId(1), {
    region: '',
    comp_cat: 'FTB_COMP_CAT_BACKPLANE',
    comp: 'FTB_COMP_MANAGER',
    client_name: '',
    ext: 1,
  });
  const id = (over: Record<string, string | number>) => ({
    'location.hostname': '10.0.0.1',
    'location.pid_starttime': 'Tue_Nov_24_328_23:33:42',
    'location.pid': 7,
    'client.region': 'R',
    'client.comp_cat': 'C',
    'client.comp': 'P',
    'client.client_name': 'n',
    'client.ext': 0,
    ...over,
  });
  t.match(
    r.compareIds(
      id({}),
      id({ 'client.region': 'other', 'client.comp': 'p', 'location.pid_starttime': 'tue_nov_24_328_23:33:42' }),
    ),
    { sameFtbId: true },
    'region ignored, case ignored',
  );
  t.match(r.compareIds(id({}), id({ 'client.ext': 1 })), { sameFtbId: false, sameLocation: true });
  t.match(r.compareIds(id({}), id({ 'location.pid': 8 })), { sameFtbId: false, sameClientInProcess: true });
  const agent = id({ 'client.comp_cat': 'ftb_comp_cat_backplane', 'client.comp': 'FTB_COMP_MANAGER' });
  t.match(
    r.compareIds(agent, agent),
    { aIsAgent: true, aIsManager: false },
    'agent test ignores case, manager test does not',
  );
  t.match(
    r.compareIds(
      id({ 'client.comp_cat': 'FTB_COMP_CAT_BACKPLANE', 'client.comp': 'FTB_COMP_MANAGER', 'client.ext': 1 }),
      agent,
    ),
    { aIsAgent: false, aIsManager: true },
  );
});

t.test('bootstrap exchange (§9.1) over real UDP: retries, ignores junk, bounded', async (t) => {
  const server = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => server.bind(0, '127.0.0.1', resolve));
  const port = server.address().port;
  let requests = 0;
  server.on('message', (msg, rinfo) => {
    requests++;
    if (requests === 1) return; // first attempt lost
    server.send(Buffer.alloc(10), rinfo.port, rinfo.address); // junk is ignored
    const reply = r.encode('bootstrap', {
      type: 2,
      'parent_addr.name': '127.0.0.1',
      'parent_addr.port': 10810,
      level: 1,
    });
    server.send(reply, rinfo.port, rinfo.address);
    t.equal(msg.length, 144, 'request is 144 bytes');
    t.match(r.decode('bootstrap', msg), { type: 1, 'addr.name': '10.9.9.9', 'addr.port': 4242, level: 65535 });
  });
  const reply = await r.bootstrapExchange(
    '127.0.0.1',
    port,
    { type: 1, 'addr.name': '10.9.9.9', 'addr.port': 4242, level: 65535 },
    [50, 2000],
    true,
  );
  t.match(reply, { type: 2, 'parent_addr.name': '127.0.0.1', 'parent_addr.port': 10810, level: 1 });
  t.equal(requests, 2, 'the request was re-sent after the first timeout');

  server.removeAllListeners('message');
  const started = Date.now();
  await t.rejects(r.bootstrapExchange('127.0.0.1', port, { type: 1 }, [20, 40], true), {
    code: 'FTB_ERR_NETWORK_NO_ROUTE',
    codeNumber: -21,
  });
  t.ok(Date.now() - started < 2000, 'gives up after the configured attempts');
  server.close();
});
