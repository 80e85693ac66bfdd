// Every function and constructor of the public API, given bad input (wrong types, out of range,
// bad strings), fails with a crftb error carrying a documented code — never a bare TypeError, a
// crash or a request that goes ahead. Calls that could start something are bounded: every
// checkpoint names a counter this test started, every restart a directory that does not exist,
// every agent or bootstrap server 127.0.0.1 with an ephemeral port, every client a closed port;
// anything that resolves anyway is closed and reported as a failure.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import {
  Agent,
  BootstrapServer,
  checkCheckpointName,
  checkpoint,
  criticalSection,
  CrftbError,
  FtbClient,
  FtbEventHandle,
  FtbSubscription,
  isCrftbError,
  JobCoordinator,
  LauncherNode,
  locateCriu,
  nodeDirectory,
  onCheckpoint,
  pendingDirectory,
  probeEngine,
  restart,
  restartDetailed,
  startAgent,
  startBootstrap,
  treeDirectory,
} from '../lib/index';
import { killStarted, startCounter, tempDir } from './helpers/detached';
import { closedPort } from './helpers/ports';
import { loopbackJob } from './helpers/launcher-job';

t.teardown(killStarted);

// The codes README "Errors" documents.
const DOCUMENTED = /^(E[A-Z0-9]+|ERR_[A-Z_]+|FTB_ERR_[A-Z_]+|CR_E[A-Z]+|ABORT_ERR)$/;

type Case = [label: string, call: () => unknown];

async function settle(call: () => unknown): Promise<{ error?: unknown; value?: unknown }> {
  try {
    return { value: await call() };
  } catch (error) {
    return { error };
  }
}

async function expectCoded(t: Test, cases: Case[]): Promise<void> {
  for (const [label, call] of cases) {
    const { error, value } = await settle(call);
    if (error === undefined) {
      (value as { close?: () => unknown } | undefined)?.close?.();
      t.fail(`${label}: accepted`);
      continue;
    }
    const e = error as { code?: unknown; message?: string };
    t.ok(
      isCrftbError(error) && typeof e.code === 'string' && DOCUMENTED.test(e.code),
      `${label}: ${isCrftbError(error) ? 'CrftbError' : (error as Error)?.constructor?.name} ${String(e.code)} (${e.message})`,
    );
  }
}

const bad = (value: unknown) => value as never;

t.test('checkpoint, restart, restartDetailed, probeEngine, locateCriu', async (t) => {
  const work = tempDir('bad-input');
  const target = (await startCounter(work)).pid;
  const dir = path.join(work, 'images');
  const missing = path.join(work, 'no-such-images');
  const ck = (options: object) => () => checkpoint(bad({ target, dir, ftb: false, ...options }));
  await expectCoded(t, [
    ['checkpoint()', () => checkpoint(bad(undefined))],
    ['checkpoint(null)', () => checkpoint(bad(null))],
    ['checkpoint(42)', () => checkpoint(bad(42))],
    ['checkpoint("dir")', () => checkpoint(bad('dir'))],
    ['checkpoint dir: 42', ck({ dir: 42 })],
    ['checkpoint dir and file', ck({ file: path.join(work, 'context') })],
    ['checkpoint target: "abc"', ck({ target: 'abc' })],
    ['checkpoint target: -1', ck({ target: -1 })],
    ['checkpoint target: 1.5', ck({ target: 1.5 })],
    ['checkpoint target: 2^23', ck({ target: 2 ** 23 })],
    ['checkpoint timeoutMs: -1', ck({ timeoutMs: -1 })],
    ['checkpoint timeoutMs: "soon"', ck({ timeoutMs: 'soon' })],
    ['checkpoint timeoutMs: Infinity', ck({ timeoutMs: Number.POSITIVE_INFINITY })],
    ['checkpoint timeoutMs: NaN', ck({ timeoutMs: Number.NaN })],
    ['checkpoint signal: "stop"', ck({ signal: 'stop' })],
    ['checkpoint scope: "galaxy"', ck({ scope: 'galaxy' })],
    ['checkpoint engine: 42', ck({ engine: 42 })],
    ['checkpoint engine: "vmware"', ck({ engine: 'vmware' })],
    ['checkpoint connections: "maybe"', ck({ connections: 'maybe' })],
    ['checkpoint networkLock: 7', ck({ networkLock: 7 })],
    ['checkpoint kill and stop', ck({ kill: true, stop: true })],
    ['checkpoint retry: 5', ck({ retry: 5 })],
    ['checkpoint retry.retries: -1', ck({ retry: { retries: -1 } })],
    ['checkpoint retry.onRetry: "log"', ck({ retry: { onRetry: 'log' } })],
    ['checkpoint ftb: "yes"', ck({ ftb: 'yes' })],
    ['checkpoint ftb.agentPort: 70000', ck({ ftb: { agentPort: 70000 } })],
    ['checkpoint ghostLimit: -1', ck({ ghostLimit: -1 })],
    ['checkpoint criu: 42', ck({ criu: 42 })],
    ['restart()', () => restart(bad(undefined))],
    ['restart(42)', () => restart(bad(42))],
    ['restart dir: 42', () => restart(bad({ dir: 42 }))],
    ['restart timeoutMs: -1', () => restart(bad({ dir: missing, timeoutMs: -1 }))],
    ['restart timeoutMs: "soon"', () => restart(bad({ dir: missing, timeoutMs: 'soon' }))],
    ['restart reapWaitMs: "x"', () => restart(bad({ dir: missing, reapWaitMs: 'x' }))],
    ['restart signal: 1', () => restart(bad({ dir: missing, signal: 1 }))],
    ['restartDetailed(null)', () => restartDetailed(bad(null))],
    ['restartDetailed retry: "3"', () => restartDetailed(bad({ dir: missing, retry: '3' }))],
    ['probeEngine(42)', () => probeEngine(bad(42))],
    ['probeEngine engine: "vmware"', () => probeEngine(bad({ engine: 'vmware' }))],
    ['probeEngine criu: 42', () => probeEngine(bad({ criu: 42 }))],
    ['locateCriu(42)', () => locateCriu(bad(42))],
    ['locateCriu(missing file)', () => locateCriu(path.join(work, 'no-criu'))],
  ]);
  t.notOk(fs.existsSync(`${dir}.gens`), 'no checkpoint was written');
});

t.test('onCheckpoint, criticalSection, CrftbError', async (t) => {
  await expectCoded(t, [
    ['onCheckpoint(42)', () => onCheckpoint(bad(42))],
    ['onCheckpoint()', () => onCheckpoint(bad(undefined))],
    ['onCheckpoint("cb")', () => onCheckpoint(bad('cb'))],
    ['criticalSection(42)', () => criticalSection(bad(42))],
    ['criticalSection()', () => criticalSection(bad(undefined))],
    ['new CrftbError(42, "m")', () => new CrftbError(bad(42), 'm')],
    ['new CrftbError("", "m")', () => new CrftbError('', 'm')],
  ]);
});

t.test('FTB: FtbClient, FtbEventHandle, FtbSubscription, agent and bootstrap server', async (t) => {
  const agentPort = await closedPort();
  const info = { eventSpace: 'CRFTB.TEST.BADINPUT', clientName: 'bad' };
  const to = { agentHost: '127.0.0.1', agentPort, connectTimeoutMs: 1000 };
  const { ftb } = await loopbackJob(t, 'badinput');
  const client = await FtbClient.connect(info, ftb);
  t.teardown(() => client.close());
  client.declare([{ name: 'EV', severity: 'INFO' }]);
  const local = { host: '127.0.0.1', port: 0, bootstrap: false };
  await expectCoded(t, [
    ['FtbClient.connect()', () => FtbClient.connect(bad(undefined), to)],
    ['FtbClient.connect(null)', () => FtbClient.connect(bad(null), to)],
    ['FtbClient.connect(42)', () => FtbClient.connect(bad(42), to)],
    ['FtbClient.connect eventSpace: 42', () => FtbClient.connect(bad({ eventSpace: 42 }), to)],
    ['FtbClient.connect eventSpace: "ABC"', () => FtbClient.connect(bad({ eventSpace: 'ABC' }), to)],
    ['FtbClient.connect clientName: 42', () => FtbClient.connect(bad({ ...info, clientName: 42 }), to)],
    ['FtbClient.connect clientName too long', () => FtbClient.connect({ ...info, clientName: 'x'.repeat(100) }, to)],
    ['FtbClient.connect options 42', () => FtbClient.connect(info, bad(42))],
    ['FtbClient.connect agentPort: -1', () => FtbClient.connect(info, { ...to, agentPort: -1 })],
    ['FtbClient.connect agentPort: "x"', () => FtbClient.connect(info, bad({ ...to, agentPort: 'x' }))],
    ['FtbClient.connect connectTimeoutMs: -1', () => FtbClient.connect(info, { ...to, connectTimeoutMs: -1 })],
    ['FtbClient.connect signal: "x"', () => FtbClient.connect(info, to, bad('x'))],
    ['client.publish(42)', () => client.publish(bad(42))],
    ['client.publish(undeclared)', () => client.publish('NOT_DECLARED')],
    ['client.publish payload: 42', () => client.publish('EV', bad({ payload: 42 }))],
    ['client.publish payload too big', () => client.publish('EV', { payload: Buffer.alloc(4096) })],
    ['client.publish options 42', () => client.publish('EV', bad(42))],
    ['client.subscribe(42)', () => client.subscribe(bad(42))],
    ['client.subscribe("garbage")', () => client.subscribe('event_name===')],
    ['client.subscribe options 42', () => client.subscribe('event_name=EV', bad(42))],
    ['client.declare(42)', () => client.declare(bad(42))],
    ['client.declare([{ name: 42 }])', () => client.declare(bad([{ name: 42, severity: 'INFO' }]))],
    ['client.declare severity: "loud"', () => client.declare(bad([{ name: 'EV2', severity: 'loud' }]))],
    ['client.declare schemaFile: 42', () => client.declare(bad({ schemaFile: 42 }))],
    ['new FtbEventHandle(42)', () => new FtbEventHandle(bad(42))],
    ['new FtbEventHandle(1 byte)', () => new FtbEventHandle(Buffer.alloc(1))],
    ['new FtbSubscription(42, ...)', () => new FtbSubscription(bad(42), 1, bad('notify'), 'event_name=EV')],
    ['startAgent(42)', () => startAgent(bad(42))],
    ['startAgent port: -1', () => startAgent({ ...local, port: -1 })],
    ['startAgent port: "x"', () => startAgent(bad({ ...local, port: 'x' }))],
    ['startAgent host: 42', () => startAgent(bad({ ...local, host: 42 }))],
    ['startAgent host: "not an address"', () => startAgent({ ...local, host: 'not an address' })],
    ['new Agent("x")', () => new Agent(bad('x'))],
    ['startBootstrap(42)', () => startBootstrap(bad(42))],
    ['startBootstrap port: 70000', () => startBootstrap({ host: '127.0.0.1', port: 70000 })],
    ['new BootstrapServer("x")', () => new BootstrapServer(bad('x'))],
  ]);
});

t.test('launcher: JobCoordinator, LauncherNode, directories and names', async (t) => {
  const work = tempDir('bad-input');
  const { ftb } = await loopbackJob(t, 'badlaunch');
  const coordinator = await JobCoordinator.start({ job: 'badlaunch', ftb });
  t.teardown(() => coordinator.close());
  const node = await LauncherNode.start({ job: 'badlaunch', node: 'n1', imageRoot: work, ftb });
  t.teardown(() => node.close());
  const target = (await startCounter(tempDir('bad-input-counter'))).pid;
  await expectCoded(t, [
    ['JobCoordinator.start()', () => JobCoordinator.start(bad(undefined))],
    ['JobCoordinator.start(42)', () => JobCoordinator.start(bad(42))],
    ['JobCoordinator.start job: 42', () => JobCoordinator.start(bad({ job: 42, ftb }))],
    ['JobCoordinator.start job: "../x"', () => JobCoordinator.start({ job: '../x', ftb })],
    ['JobCoordinator.start name: 42', () => JobCoordinator.start(bad({ job: 'badlaunch', name: 42, ftb }))],
    ['coordinator.checkpoint()', () => coordinator.checkpoint(bad(undefined))],
    ['coordinator.checkpoint(42)', () => coordinator.checkpoint(bad(42))],
    ['coordinator.checkpoint nodes: "n1"', () => coordinator.checkpoint(bad({ nodes: 'n1' }))],
    ['coordinator.checkpoint nodes: [42]', () => coordinator.checkpoint(bad({ nodes: [42] }))],
    ['coordinator.checkpoint name: "../x"', () => coordinator.checkpoint({ nodes: ['n1'], name: '../x' })],
    ['coordinator.checkpoint timeoutMs: -1', () => coordinator.checkpoint({ nodes: ['n1'], timeoutMs: -1 })],
    ['coordinator.checkpoint timeoutMs: "x"', () => coordinator.checkpoint(bad({ nodes: ['n1'], timeoutMs: 'x' }))],
    [
      'coordinator.checkpoint commitTimeoutMs: -1',
      () => coordinator.checkpoint({ nodes: ['n1'], commitTimeoutMs: -1 }),
    ],
    ['coordinator.checkpoint signal: 1', () => coordinator.checkpoint(bad({ nodes: ['n1'], signal: 1 }))],
    ['coordinator.restart(null)', () => coordinator.restart(bad(null))],
    ['coordinator.restart name: ""', () => coordinator.restart({ nodes: ['n1'], name: '' })],
    ['LauncherNode.start()', () => LauncherNode.start(bad(undefined))],
    ['LauncherNode.start(null)', () => LauncherNode.start(bad(null))],
    [
      'LauncherNode.start imageRoot: 42',
      () => LauncherNode.start(bad({ job: 'badlaunch', node: 'n2', imageRoot: 42, ftb })),
    ],
    [
      'LauncherNode.start node: "../x"',
      () => LauncherNode.start({ job: 'badlaunch', node: '../x', imageRoot: work, ftb }),
    ],
    ['LauncherNode.start job: 42', () => LauncherNode.start(bad({ job: 42, node: 'n2', imageRoot: work, ftb }))],
    [
      'LauncherNode.start decisionTimeoutMs: -1',
      () => LauncherNode.start({ job: 'badlaunch', node: 'n2', imageRoot: work, ftb, decisionTimeoutMs: -1 }),
    ],
    [
      'LauncherNode.start checkpoint: 42',
      () => LauncherNode.start(bad({ job: 'badlaunch', node: 'n2', imageRoot: work, ftb, checkpoint: 42 })),
    ],
    ['node.addTree(42, pid)', () => node.addTree(bad(42), target)],
    ['node.addTree("t", 0)', () => node.addTree('t', 0)],
    ['node.addTree("t", "pid")', () => node.addTree('t', bad('pid'))],
    ['node.addTree("t", pid, 42)', () => node.addTree('t', target, bad(42))],
    ['node.addTree("t", pid, { ghostLimit: -1 })', () => node.addTree('t', target, { ghostLimit: -1 })],
    ['node.removeTree(42)', () => node.removeTree(bad(42))],
    ['nodeDirectory(42, ...)', () => nodeDirectory(bad(42), 'j', 'n', 'x')],
    ['nodeDirectory job "../x"', () => nodeDirectory(work, '../x', 'n', 'x')],
    ['treeDirectory tree ""', () => treeDirectory(work, 'j', 'n', 'x', '')],
    ['pendingDirectory node 42', () => pendingDirectory(work, 'j', 'n', bad(42))],
    ['checkCheckpointName(42)', () => checkCheckpointName(42)],
    ['checkCheckpointName("../x")', () => checkCheckpointName('../x')],
    ['checkCheckpointName("")', () => checkCheckpointName('')],
  ]);
  t.same(node.localTrees(), [], 'no tree was registered');
});
