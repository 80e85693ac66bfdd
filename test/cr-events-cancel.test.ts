// BLCR's FTB events on the paths where a request is given up before its engine is done: a
// deadline, an AbortSignal and a CLI Ctrl-C mid-dump (the engine's end is awaited by a thread
// left behind, native/cr/request.cc FinishCheckpointLater), an abort once the dump is complete
// (committed anyway: END, though the call rejects), a restart abandoned mid-restore
// (FinishRestartLater), and a checkpoint that succeeds after refusals it retried. A real
// subscriber on a real agent sees each request as one BEGIN and exactly one END or ERROR with the
// right errno, matched by handle, and nothing more once the left-behind work has ended.
// Every target is a detached child started here; the CRIU services held are this test's own.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed, type CrftbError } from '../lib/index';
import { cr } from '../lib/cr/native';
import { checkRequests, watchForFile } from './helpers/blcr-events';
import { interruptMidDump, runCli } from './helpers/cli';
import {
  adopt,
  alive,
  countsOn,
  killStarted,
  processState,
  startHeap,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';
import { hold, holdMidDump } from './helpers/hold';
import { listenerWithQueuedConnection, releaseBeforeRetry } from './helpers/in-flight';
import { childrenOf, criuServiceStarted } from './helpers/processes';
import { commitBegun, withSlowCommit } from './helpers/slow-commit';

const ETIMEDOUT = 110;
const ECANCELED = 125;
const EAGAIN = 11;

const watch = watchForFile(t);
t.teardown(killStarted);

const drained = () => cr.drainAbandoned(120000);

// A request of this process, and whether it has settled yet.
function tracked<T>(request: Promise<T>) {
  const state = { settled: false };
  const outcome = request.then(
    () => null,
    (e: CrftbError & { committed?: boolean }) => e,
  );
  void outcome.finally(() => (state.settled = true));
  return { outcome, state };
}

// Stopped by a deadline or by an abort once the dump is held: the deadline is long enough for the
// dump to be found and held first (a second or two), and then passes while the engine is
// stopped, whatever the machine's load.
for (const [how, errno, code] of [
  ['a deadline that passes', ETIMEDOUT, 'ETIMEDOUT'],
  ['an AbortSignal that aborts', ECANCELED, 'ABORT_ERR'],
] as const) {
  t.test(`${how} while the dump is held: CHKPT_ERROR(${errno}) once, nothing after`, async (t) => {
    const work = tempDir('cr-events-cancel');
    const target = await startHeap(work, 512);
    const images = path.join(work, 'images');
    const controller = new AbortController();
    const from = await watch().mark();
    const request = tracked(
      checkpoint({
        target: target.pid,
        dir: images,
        kill: true,
        ...(errno === ETIMEDOUT ? { timeoutMs: 10000 } : { signal: controller.signal }),
        ftb: watch().ftb,
      }),
    );
    const engine = await holdMidDump(target.pid, process.pid, request.outcome);
    t.notOk(request.state.settled, 'the dump was held before the request was stopped');
    controller.abort(new Error('stop'));
    const error = await request.outcome;
    t.ok(engine.held(), 'the request settled while the dump was still being written');
    engine.release();
    t.match(error, { code }, `checkpoint() rejects ${code}`);
    t.ok(await drained(), 'the abandoned dump ends');
    await watch().settle();
    checkRequests(t, 'CHKPT', watch().events(process.pid, from), [errno]);
    t.ok(alive(target.pid), 'the target was not killed');
    await countsOn(target.counter);
  });
}

t.test(
  'Ctrl-C on `crftb checkpoint` mid-dump: the CLI publishes CHKPT_ERROR(ECANCELED) once, nothing after',
  async (t) => {
    const work = tempDir('cr-events-cancel');
    const target = await startHeap(work, 512);
    const images = path.join(work, 'images');
    // The CLI finds the agent as FTB does: FTB_AGENT_PORT on loopback, no bootstrap server.
    const cli = runCli(['checkpoint', String(target.pid), '--dir', images, '--kill'], work, {
      FTB_AGENT_PORT: String(watch().ftb.agentPort),
      FTB_BSTRAP_SERVER: undefined,
      FTB_CONFIG_FILE: undefined,
    });
    const { code } = await interruptMidDump(t, cli, target.pid);
    t.equal(code, 130, 'the CLI exits 130 once the engine is done');
    await watch().settle();
    checkRequests(t, 'CHKPT', watch().events(cli.child.pid!), [ECANCELED]);
    t.ok(alive(target.pid), 'the target runs on');
    await countsOn(target.counter);
  },
);

t.test('an abort once the dump is complete: committed, so CHKPT_END and no ERROR', async (t) => {
  const work = tempDir('cr-events-cancel');
  const target = await startHeap(work, 400);
  const images = path.join(work, 'images');
  const controller = new AbortController();
  const from = await watch().mark();
  const error = await withSlowCommit(async () => {
    const request = tracked(
      checkpoint({ target: target.pid, dir: images, kill: true, signal: controller.signal, ftb: watch().ftb }),
    );
    await waitFor('the commit to begin', () => commitBegun(images), 60000);
    t.notOk(request.state.settled, 'the request was still committing');
    controller.abort(new Error('stop'));
    return request.outcome;
  });
  t.match(error, { code: 'ABORT_ERR', committed: true }, 'checkpoint() rejects, saying the images were committed');
  t.ok(await drained(), 'the superseded work ends');
  await watch().settle();
  checkRequests(t, 'CHKPT', watch().events(process.pid, from), ['END']);
  t.ok(alive(target.pid), 'the target was not killed');
  t.not(processState(target.pid), 'T', 'nor left stopped');
  await countsOn(target.counter);
});

t.test('a restart aborted while the restore is held: RSTRT_ERROR(ECANCELED) once, nothing after', async (t) => {
  const work = tempDir('cr-events-cancel');
  const target = await startHeap(work, 512);
  const images = path.join(work, 'images');
  await checkpoint({ target: target.pid, dir: images, kill: true, ftb: false });
  await target.exited;
  await waitReaped(target.pid);
  const controller = new AbortController();
  const before = new Set(childrenOf());
  const from = await watch().mark();
  const request = tracked(
    restartDetailed({ dir: images, signal: controller.signal, ftb: watch().ftb }).then((r) => adopt(r.pid)),
  );
  // Held as soon as it is found: restoring 512 MiB takes far longer than finding it.
  const engine = await hold(await criuServiceStarted(process.pid, before, { request: request.outcome }));
  t.notOk(request.state.settled, 'the restore was held before it ended');
  controller.abort(new Error('stop'));
  const error = await request.outcome;
  t.ok(engine.held(), 'the request settled while the restore was held');
  engine.release();
  t.match(error, { code: 'ABORT_ERR' }, 'restart() rejects with an AbortError');
  t.ok(await drained(), 'the abandoned restore ends (what it restored is killed)');
  await watch().settle();
  checkRequests(t, 'RSTRT', watch().events(process.pid, from), [ECANCELED]);
  await waitReaped(target.pid);
  t.notOk(alive(target.pid), 'nothing restored stays running');
});

t.test(
  'a checkpoint retried after EAGAIN refusals: each attempt its own BEGIN and one ERROR(EAGAIN) or END',
  async (t) => {
    const work = tempDir('cr-events-cancel');
    const { listener, go } = await listenerWithQueuedConnection(t, work);
    const images = path.join(work, 'images');
    const from = await watch().mark();
    const refusals: CrftbError[] = [];
    const result = await checkpoint({
      target: listener.pid,
      dir: images,
      ftb: watch().ftb,
      skipInFlight: false,
      retry: releaseBeforeRetry(go, 2, refusals), // the listener accepts the connection before retry 2
    });
    t.equal(fs.realpathSync(images), result.generation, 'the last attempt committed');
    // Attempt 3 succeeds unless the listener is slow to accept; either way each attempt is a request.
    t.ok(refusals.length >= 2, `refused ${refusals.length} times first`);
    t.ok(
      refusals.every((e) => e.code === 'EAGAIN'),
      'every refusal was EAGAIN',
    );
    await watch().settle();
    checkRequests(t, 'CHKPT', watch().events(process.pid, from), [...refusals.map(() => EAGAIN), 'END']);
  },
);
