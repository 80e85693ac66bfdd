// BLCR's FTB events from checkpoint()/restart(), seen by a real subscriber on a real agent:
// a Node child with timers, an open file, a worker thread, a listening socket and an FTB client
// of its own checkpoints itself (its FTB socket is closed for the dump and reopened after, in the
// original and in the restored copy), is killed and restarted from this process; error paths
// publish ERROR with the errno after BEGIN; a child spawned during a checkpoint inherits none of
// crftb's sockets.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  checkpoint,
  restart,
  restartDetailed,
  FtbClient,
  FtbEventHandle,
  startAgent,
  type Agent,
  type FtbReceivedEvent,
} from '../lib/index';
import {
  adopt,
  alive,
  ask,
  fixtures,
  killStarted,
  readNumber,
  readStatuses,
  startCounter,
  startDetached,
  tempDir,
  waitFor,
  waitGone,
} from './helpers/detached';
import { ftbFence } from './helpers/ftb-fence';

const BLCR = 'FTB.CHECKPOINT_SW.BLCR';

interface Status {
  pid: number;
  phase: string;
  restarted?: boolean;
  port?: number;
  code?: string;
  message?: string;
  publishError?: string | null;
  ftbConnection?: { connected: boolean; reconnects: number };
}

const statuses = (work: string) => readStatuses<Status>(work);

function lines(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

// Socket inodes a process holds, from its fd table.
function sockets(pid: number | 'self'): Set<string> {
  const out = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (target.startsWith('socket:')) out.add(target);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

let agent: Agent;
let watcher: FtbClient;
const seen: FtbReceivedEvent[] = [];
let ftb: { agentHost: string; agentPort: number };
let inherited: Set<string>;

t.before(async () => {
  inherited = sockets('self'); // the test runner's own, before crftb opened any
  agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  ftb = { agentHost: '127.0.0.1', agentPort: agent.address.port };
  watcher = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.WATCH', clientName: 'watcher', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    ftb,
  );
  watcher.declare([{ name: 'PING', severity: 'INFO' }]);
  watcher.subscribe('').on('event', (e) => seen.push(e));
});

t.teardown(async () => {
  killStarted();
  await watcher?.close();
  await agent?.close();
});

const blcrEvents = (pid: number) => seen.filter((e) => e.space.toUpperCase() === BLCR && e.sourcePid === pid);
const names = (events: FtbReceivedEvent[]) => events.map((e) => e.name);

// The schema's fixed fields (../shared/seed, LIBCR-FACTS §8.3-8.4).
function checkSchema(t: Test, begin: FtbReceivedEvent, last: FtbReceivedEvent, errnum?: number): void {
  t.equal(begin.severity, 'INFO', `${begin.name} is INFO`);
  t.equal(begin.eventType, 1, `${begin.name} has event_type 1`);
  t.same(begin.payload, Buffer.alloc(368), `${begin.name} has no payload`);
  t.equal(begin.clientName, '', 'empty client name');
  t.equal(begin.jobId, '', 'empty jobid');
  t.equal(last.eventType, 2, `${last.name} has event_type 2`);
  t.equal(last.severity, errnum === undefined ? 'INFO' : 'ERROR');
  t.ok(
    begin.handle !== null && new FtbEventHandle(last.payload.subarray(0, 360)).equals(begin.handle),
    `${last.name}'s payload starts with ${begin.name}'s handle (FTB_Compare_event_handles)`,
  );
  if (errnum === undefined) {
    t.same(last.payload.subarray(360), Buffer.alloc(8), 'the rest of the END payload is zero');
  } else {
    t.equal(last.payload.readInt32LE(360), errnum, `errno ${errnum} at offset 360 (host order)`);
    t.same(last.payload.subarray(364), Buffer.alloc(4), 'the rest of the ERROR payload is zero');
  }
}

t.test(
  'self-checkpoint with an FTB client of its own, kill, restart: CHKPT_BEGIN/END, RSTRT_BEGIN/END, one END per BEGIN',
  async (t) => {
    const work = tempDir('cr-events');
    const images = path.join(work, 'images');
    const child = startDetached(
      path.join(fixtures, 'self-checkpoint.js'),
      [work, images, JSON.stringify({ ftb })],
      work,
    );

    await waitFor('the child to connect to FTB', () => statuses(work).some((s) => s.phase === 'ftb-ready'), 20000);
    watcher.publish('PING', { payload: 'before' });
    await waitFor(
      'the checkpoint to finish',
      () => statuses(work).some((s) => s.phase === 'checkpointed' || s.phase === 'error'),
      30000,
    );
    const done = statuses(work).find((s) => s.phase === 'checkpointed' || s.phase === 'error')!;
    t.equal(done.phase, 'checkpointed', `checkpoint() resolved (${done.message ?? ''})`);
    t.equal(done.restarted, false, 'the original sees restarted: false');
    t.equal(done.publishError, null, 'the child publishes on its own FTB client after the checkpoint');
    t.ok(done.ftbConnection?.connected, 'its FTB connection is open again');
    t.same(lines(path.join(work, 'pings')), ['before'], 'its client received before the checkpoint');

    await waitFor('CHKPT_END', () => names(blcrEvents(child.pid)).includes('CHKPT_END'));
    watcher.publish('PING', { payload: 'after-original' });
    await waitFor('the original to receive a PING after the checkpoint', () =>
      lines(path.join(work, 'pings')).includes('after-original'),
    );
    const appStates = () =>
      seen.filter((e) => e.name === 'APP_STATE').map((e) => e.payload.toString('utf8').replace(/\0+$/, ''));
    await waitFor('the original to publish after the checkpoint', () => appStates().includes('after-original'));

    const port = done.port!;
    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    await waitGone(child.pid);

    const restored = await restartDetailed({ dir: images, ftb });
    adopt(restored.pid);
    t.equal(restored.pid, child.pid, 'restart() brings back the same pid');
    t.ok(restored.exited instanceof Promise, 'CRIU restores it as our child: exited watches it');
    await waitFor('the restored copy to report', () => statuses(work).some((s) => s.restarted === true), 30000);
    const resumed = statuses(work).find((s) => s.restarted === true)!;
    t.equal(resumed.phase, 'checkpointed', 'the restored copy resolves its checkpoint() with restarted: true');
    t.equal(resumed.publishError, null, 'the restored copy publishes on its FTB client');
    t.ok(resumed.ftbConnection?.connected, 'the restored copy reconnected to the agent');
    await waitFor('the restored copy to publish', () => appStates().includes('after-restored'));
    watcher.publish('PING', { payload: 'after-restore' });
    await waitFor('the restored copy to receive a PING', () =>
      lines(path.join(work, 'pings')).includes('after-restore'),
    );
    const ticks = readNumber(path.join(work, 'ticks'));
    await waitFor('the restored copy to keep ticking', () => readNumber(path.join(work, 'ticks')) > ticks + 3);
    t.match(await ask(port), new RegExp(`^pong ${child.pid} \\d+$`), 'the restored copy serves its listening socket');
    t.same(appStates(), ['before', 'after-original', 'after-restored'], "the child's own events, each once");

    await waitFor('RSTRT_END', () => names(blcrEvents(process.pid)).includes('RSTRT_END'));
    // No room needed for a wrong second CHKPT_END from the restored copy: it would have been sent
    // before its checkpoint() resolved, on the same connection as the 'after-restored' event the
    // copy published next, which is here already (a fence).
    const chkpt = blcrEvents(child.pid);
    const rstrt = blcrEvents(process.pid);
    t.same(
      names(chkpt),
      ['CHKPT_BEGIN', 'CHKPT_END'],
      'the checkpointing child published BEGIN and END once (none from the restored copy)',
    );
    t.same(names(rstrt), ['RSTRT_BEGIN', 'RSTRT_END'], 'the restarting process published RSTRT_BEGIN and RSTRT_END');
    const order = seen.filter((e) => e.space.toUpperCase() === BLCR).map((e) => e.name);
    t.same(order, ['CHKPT_BEGIN', 'CHKPT_END', 'RSTRT_BEGIN', 'RSTRT_END'], 'in that order');
    checkSchema(t, chkpt[0], chkpt[1]);
    checkSchema(t, rstrt[0], rstrt[1]);
    t.ok(alive(restored.pid));
    process.kill(restored.pid, 'SIGKILL');
  },
);

// Runs a failing request and checks this process published BEGIN then ERROR(errno), never END.
async function expectError(
  t: Test,
  prefix: 'CHKPT' | 'RSTRT',
  request: () => Promise<unknown>,
  code: RegExp | string,
): Promise<void> {
  const before = blcrEvents(process.pid).length;
  const error = (await request().then(
    () => null,
    (e: unknown) => e,
  )) as { code: string; errno?: number; codeNumber?: number } | null;
  t.ok(error, `the request failed`);
  if (!error) return;
  t.match(error.code, code, `with ${error.code}`);
  await waitFor(`${prefix}_ERROR`, () => names(blcrEvents(process.pid).slice(before)).includes(`${prefix}_ERROR`));
  await ftbFence(ftb); // a wrong END, sent before the request settled, would be here by now
  const events = blcrEvents(process.pid).slice(before);
  t.same(names(events), [`${prefix}_BEGIN`, `${prefix}_ERROR`], 'BEGIN then ERROR, no END');
  // The payload carries the errno as C has it: positive (the JS error's is negative).
  checkSchema(t, events[0], events[1], error.errno !== undefined ? -error.errno : error.codeNumber!);
}

t.test('failed requests publish BEGIN then ERROR with their errno', async (t) => {
  const dir = tempDir('cr-events-err');
  const target = await startCounter(dir);

  await t.test('missing images: RSTRT_ERROR(ENOENT)', (t) =>
    expectError(t, 'RSTRT', () => restart({ dir: path.join(dir, 'nothing-here'), ftb }), 'ENOENT'),
  );
  // Root ignores mode bits: sysfs is what cannot be written here (EPERM as root, EACCES otherwise).
  await t.test('unwritable directory: CHKPT_ERROR(EPERM/EACCES)', (t) =>
    expectError(
      t,
      'CHKPT',
      () => checkpoint({ target: target.pid, dir: '/sys/crftb-cannot-write-here', ftb }),
      /^(EPERM|EACCES)$/,
    ),
  );
  // Refusals of the restart checks (native/cr/images.h CheckRestorable) are reported like any failure.
  const images = path.join(dir, 'good');
  await checkpoint({ target: target.pid, dir: images, ftb: false });
  await t.test('original still running: RSTRT_ERROR(EBUSY)', (t) =>
    expectError(t, 'RSTRT', () => restart({ dir: images, ftb }), 'EBUSY'),
  );
  fs.appendFileSync(path.join(images, 'inventory.img'), 'x');
  await t.test('altered images: RSTRT_ERROR(EBADMSG)', (t) =>
    expectError(t, 'RSTRT', () => restart({ dir: images, ftb }), 'EBADMSG'),
  );
  await t.test('engine missing: CHKPT_ERROR(ENOSYS) and RSTRT_ERROR(ENOSYS)', async (t) => {
    await expectError(
      t,
      'CHKPT',
      () =>
        checkpoint({
          engine: 'criu',
          libcriu: '/nonexistent/libcriu.so.2',
          target: target.pid,
          dir: path.join(dir, 'i'),
          ftb,
        }),
      'ENOSYS',
    );
    await expectError(
      t,
      'RSTRT',
      () => restart({ engine: 'criu', libcriu: '/nonexistent/libcriu.so.2', dir, ftb }),
      'ENOSYS',
    );
  });
  process.kill(target.pid, 'SIGKILL');
  await target.exited;
  await waitGone(target.pid);
  await t.test('target gone: CHKPT_ERROR(ESRCH)', (t) =>
    expectError(t, 'CHKPT', () => checkpoint({ target: target.pid, dir: path.join(dir, 'images'), ftb }), 'ESRCH'),
  );
});

t.test("a child spawned while a checkpoint runs inherits none of crftb's sockets", async (t) => {
  const dir = tempDir('cr-events-fd');
  const target = await startCounter(dir);
  const ours = [...sockets('self')].filter((s) => !inherited.has(s));
  t.ok(
    ours.length >= 3,
    `crftb holds ${ours.length} sockets in this process (agent listener and connections, FTB client)`,
  );

  let running = true;
  const request = checkpoint({ target: target.pid, dir: path.join(dir, 'images'), ftb }).finally(
    () => (running = false),
  );
  const leaked = new Set<string>();
  let spawned = 0;
  while (running) {
    const child = spawn('sleep', ['5'], { stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    spawned += 1;
    for (const s of sockets(child.pid!)) if (!inherited.has(s)) leaked.add(s);
    child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 5));
  }
  const result = await request;
  t.equal(result.restarted, false, 'the checkpoint succeeded');
  t.ok(spawned >= 3, `${spawned} children were spawned while it ran`);
  t.same([...leaked], [], 'none of them holds a socket the test runner did not already pass down');
  process.kill(target.pid, 'SIGKILL');
});

t.test(
  'a self-checkpoint abandoned at its deadline while CRIU works: FTB stays closed until the dump ends, then CHKPT_ERROR(ETIMEDOUT)',
  async (t) => {
    const work = tempDir('cr-events-late');
    const images = path.join(work, 'images');
    // The CRIU service starts 1.5 s late: the 300 ms deadline (and the grace after it in which an
    // answer would still count, native/cr/request.cc) passes while the engine has begun and this
    // process is not frozen; the dump then runs after the request was abandoned.
    const child = startDetached(
      path.join(fixtures, 'self-checkpoint.js'),
      [work, images, JSON.stringify({ ftb, timeoutMs: 300, slowCriuMs: 1500 })],
      work,
    );
    await waitFor('the child to connect to FTB', () => statuses(work).some((s) => s.phase === 'ftb-ready'), 20000);
    watcher.publish('PING', { payload: 'before' });
    await waitFor(
      'the checkpoint to be abandoned',
      () => statuses(work).some((s) => s.phase === 'error' || s.phase === 'checkpointed'),
      60000,
    );
    const failed = statuses(work).find((s) => s.phase === 'error' || s.phase === 'checkpointed')!;
    t.equal(failed.code, 'ETIMEDOUT', 'checkpoint() rejects at its deadline');
    await waitFor(
      'the child to reconnect once the dump is over',
      () => statuses(work).some((s) => s.phase === 'after-error'),
      60000,
    );
    const after = statuses(work).find((s) => s.phase === 'after-error')!;
    t.ok(after.ftbConnection?.connected, 'its FTB connection is open again');
    t.equal(after.publishError, null, 'and its own client publishes');
    await waitFor('CHKPT_ERROR', () => names(blcrEvents(child.pid)).includes('CHKPT_ERROR'), 20000);
    const events = blcrEvents(child.pid);
    t.same(names(events), ['CHKPT_BEGIN', 'CHKPT_ERROR'], 'BEGIN then one ERROR, no END');
    checkSchema(t, events[0], events[1], 110);
    // The ERROR went out only once the abandoned dump had ended, and that dump (of a process with an
    // FTB client) succeeded: no socket was reopened under it. Its images were then removed.
    const gens = path.join(work, 'images.gens');
    const generation = path.join(gens, fs.readdirSync(gens).filter((g) => /^\d+$/.test(g))[0]);
    t.notMatch(
      fs.readFileSync(path.join(generation, 'dump.log'), 'utf8'),
      /Dumping FAILED/,
      'the dump itself did not fail',
    );
    t.same(
      fs.readdirSync(generation).filter((f) => !f.endsWith('.log')),
      [],
      'but its images were removed',
    );
    t.notOk(fs.existsSync(images), 'and never became the images');
    process.kill(child.pid, 'SIGKILL');
  },
);
