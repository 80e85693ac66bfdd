// A requester that may create no process or thread (its RLIMIT_NPROC reached: a user at their
// `ulimit -u`): a checkpoint that would stop or kill its target is refused before anything is
// stopped, because the guardian that would resume the target should the requester die cannot
// be started (README, "A requester that dies never leaves its targets stopped"), and nothing
// else breaks: no crash, a coded error for every request, the target runs on, no images link.
// Root is exempt from RLIMIT_NPROC, so the requester and its target run as nobody (both started
// by this test; the requester is test/fixtures/cr/limited-requester.js); only the requester's
// own soft limit is lowered, by itself. As nobody, CRIU itself cannot dump, which does not
// matter for the limit (the guardian comes first) and is checked first: EPERM, naming the
// capability CRIU needs.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import {
  alive,
  countsOn,
  fixtures,
  killStarted,
  processState,
  startCounter,
  tempDir,
  waitFor,
} from './helpers/detached';

t.teardown(killStarted);

const NOBODY = 65534;

function startRequester(t: Test) {
  const child = spawn(process.execPath, [path.join(fixtures, 'limited-requester.js')], {
    stdio: ['pipe', 'pipe', 'pipe'],
    uid: NOBODY,
    gid: NOBODY,
  });
  t.teardown(() => child.kill('SIGKILL'));
  const answers: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  readline.createInterface({ input: child.stdout! }).on('line', (l) => answers.push(JSON.parse(l)));
  const next = async (count: number) => {
    await waitFor('the requester to answer', () => answers.length >= count || child.exitCode !== null, 60000);
    if (answers.length < count) throw new Error(`the requester exited (${child.exitCode}): ${stderr}`);
    return answers[count - 1];
  };
  return {
    child,
    stderr: () => stderr,
    ready: () => next(1),
    ask: (line: string, count: number) => {
      child.stdin!.write(`${line}\n`);
      return next(count);
    },
  };
}

t.test('a requester at its process limit: stop/kill refused before anything is stopped, nothing crashes', async (t) => {
  const work = tempDir('cr-process-limit');
  fs.chownSync(work, NOBODY, NOBODY);
  const target = await startCounter(work, NOBODY);
  const requester = startRequester(t);
  t.match(await requester.ready(), { ready: requester.child.pid }, 'the requester runs, as nobody');
  let asked = 1;
  const ask = (after: string, dir: string) =>
    requester.ask(`checkpoint ${target.pid} ${path.join(work, dir)} ${after}`, ++asked);
  // Its threads exist and the engine is probed before the limit: what follows is the request's
  // own. As nobody, CRIU refuses; it says so on its stdout, which crftb gives it as the end of
  // its log (its stdio used to be closed, Node's being close-on-exec: the message was lost and
  // a kill request got EBADE).
  for (const after of ['leave', 'kill']) {
    t.match(
      await ask(after, `unprivileged-${after}`),
      { ok: false, code: 'EPERM', message: /CRIU needs CAP_CHECKPOINT_RESTORE .*setcap/ },
      `${after}, as nobody: EPERM, naming the capability CRIU needs`,
    );
    t.ok(alive(target.pid) && processState(target.pid) !== 'T', 'the target runs on');
  }
  t.match(await requester.ask('limit 1', ++asked), { ok: true }, 'its process limit is lowered to 1');
  for (const after of ['kill', 'stop']) {
    const answer = await ask(after, `limited-${after}`);
    t.match(
      answer,
      { ok: false, code: 'EAGAIN', message: /cannot start the guardian .* nothing was stopped/ },
      `${after}: refused with EAGAIN, naming the guardian`,
    );
    t.ok(alive(target.pid) && processState(target.pid) !== 'T', 'the target was neither killed nor left stopped');
    t.notOk(fs.existsSync(path.join(work, `limited-${after}`)), 'and no images link was made');
  }
  const leave = await ask('leave', 'limited-leave');
  t.match(leave, { ok: false, code: String }, `one that halts nothing fails with a code too (${leave.code})`);
  await countsOn(target.counter);
  t.equal(requester.child.exitCode, null, 'the requester never crashed');
  t.ok(alive(target.pid) && processState(target.pid) !== 'T', 'and the target runs on');
});
