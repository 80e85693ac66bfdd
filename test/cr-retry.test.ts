// Errors a program can act on (issue 16 §3): a refusal that passes by itself has code EAGAIN, and
// checkpoint()/restart() retry it when asked (`retry`), within timeoutMs and signal; any other
// failure is reported at once. Real processes, real CRIU: a restart while a pid it needs is a
// zombie its parent (a detached shell started here) reaps only when told; a checkpoint of a
// listener whose connection is still waiting to be accepted (skipInFlight: false); two
// checkpoints into one dir. A failed attempt leaves neither a generation nor a stopped process.
import t from 'tap';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed, type CrftbError } from '../lib/index';
import { cr } from '../lib/cr/native';
import {
  adopt,
  alive,
  criuEnv,
  fixtures,
  killStarted,
  readNumber,
  startConnectedClient,
  startCounter,
  tempDir,
  waitFor,
} from './helpers/detached';
import { listenerWithQueuedConnection, mkfifo, releaseBeforeRetry } from './helpers/in-flight';

t.teardown(killStarted);

const state = (pid: number) => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat[stat.lastIndexOf(')') + 2];
};

// What a checkpoint into `images` left: the generation directories and anything else beside them.
function leftovers(images: string): { generations: string[]; other: string[] } {
  const gens = fs.existsSync(`${images}.gens`) ? fs.readdirSync(`${images}.gens`) : [];
  const withImages = gens.filter(
    (g) => /^\d+$/.test(g) && fs.readdirSync(path.join(`${images}.gens`, g)).some((f) => f.endsWith('.img')),
  );
  return {
    generations: withImages,
    other: fs.readdirSync(path.dirname(images)).filter((f) => f.startsWith(`${path.basename(images)}.link`)),
  };
}

t.test(
  'a restart refused while a pid it needs is a zombie (EAGAIN) is retried, and succeeds once the parent reaps it',
  async (t) => {
    const work = tempDir('cr-retry');
    const reap = path.join(work, 'reap');
    await mkfifo(reap);
    const file = path.join(work, 'n');
    const out = fs.openSync(path.join(work, 'out'), 'a');
    const parent = spawn(
      'sh',
      [path.join(fixtures, 'reaping-parent.sh'), process.execPath, path.join(fixtures, 'counter.js'), file],
      {
        detached: true,
        cwd: work,
        stdio: ['ignore', out, out],
        env: { ...criuEnv(), UV_USE_IO_URING: '0' },
      },
    );
    fs.closeSync(out);
    adopt(parent.pid!);
    const children = () =>
      fs
        .readFileSync(`/proc/${parent.pid}/task/${parent.pid}/children`, 'utf8')
        .trim()
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
    await waitFor('the counter to start', () => children().length > 0, 30000);
    const [counter] = children();
    adopt(counter);
    await waitFor('the counter to count', () => readNumber(file) > 2, 30000);
    const images = path.join(work, 'images');
    await checkpoint({ target: counter, dir: images, kill: true, ftb: false });
    t.equal(state(counter), 'Z', 'the killed counter is a zombie its parent has not reaped');

    const refusals: CrftbError[] = [];
    const restored = await restartDetailed({
      dir: images,
      ftb: false,
      reapWaitMs: 0,
      retry: releaseBeforeRetry(reap, 1, refusals), // the parent reaps it now
    });
    adopt(restored.pid);
    t.ok(refusals.length >= 1, `refused ${refusals.length} time(s) first`);
    t.match(refusals[0], {
      code: 'EAGAIN',
      errno: -11,
      message: new RegExp(`pid ${counter} \\(node\\) has exited but its parent has not reaped it yet`),
    });
    t.equal(restored.pid, counter, 'then restored with its own pid');
    const now = readNumber(file);
    await waitFor('the restored counter to count on', () => readNumber(file) > now + 2);
  },
);

t.test(
  'a checkpoint refused by a connection still waiting to be accepted (EAGAIN) is retried, and succeeds once it is accepted',
  async (t) => {
    const work = tempDir('cr-retry');
    const { listener, go, counter } = await listenerWithQueuedConnection(t, work);
    const images = path.join(work, 'images');
    const refusals: CrftbError[] = [];
    const result = await checkpoint({
      target: listener.pid,
      dir: images,
      ftb: false,
      skipInFlight: false,
      retry: releaseBeforeRetry(go, 1, refusals), // the listener accepts it now
    });
    t.ok(refusals.length >= 1, `refused ${refusals.length} time(s) first`);
    t.match(refusals[0], { code: 'EAGAIN', message: /In-flight connection .*retry the checkpoint/ });
    t.equal(fs.realpathSync(images), result.generation, 'then committed');
    t.same(
      leftovers(images),
      { generations: [path.basename(result.generation)], other: [] },
      'one generation: the refused attempts left none',
    );
    await waitFor('the listener to count after the checkpoint', () => readNumber(counter) > 2);
  },
);

t.test(
  'retries stay within timeoutMs and signal, and a refused checkpoint never leaves its target stopped',
  async (t) => {
    const work = tempDir('cr-retry');
    const { listener } = await listenerWithQueuedConnection(t, work);
    const images = path.join(work, 'images');
    const attempt = (extra: object) =>
      checkpoint({ target: listener.pid, dir: images, ftb: false, skipInFlight: false, stop: true, ...extra });

    let retries = 0;
    await t.rejects(
      attempt({ retry: { retries: 2, delayMs: 10, onRetry: () => (retries += 1) } }),
      {
        code: 'EAGAIN',
        message: /In-flight connection.*\(after 3 attempts, options\.retry\.retries 2\)$/,
      },
      'retries exhausted: the last refusal, saying how many attempts were made',
    );
    t.equal(retries, 2, 'retried exactly as often as asked');

    const timedOut = await attempt({ timeoutMs: 1500, retry: { retries: 100, delayMs: 100 } }).catch(
      (e: CrftbError) => e,
    );
    t.match(
      timedOut,
      { code: /^(EAGAIN|ETIMEDOUT)$/ },
      `the deadline ends the retries (${(timedOut as CrftbError).code})`,
    );
    if ((timedOut as CrftbError).code === 'EAGAIN')
      t.match(timedOut, { message: /no time left for another within timeoutMs/ });

    const controller = new AbortController();
    await t.rejects(
      attempt({
        signal: controller.signal,
        retry: { retries: 100, delayMs: 60_000, onRetry: () => controller.abort() },
      }),
      {
        name: 'AbortError',
        code: 'ABORT_ERR',
      },
      'an abort ends the pause before a retry at once',
    );

    await cr.drainAbandoned(-1); // an attempt the deadline interrupted finishes in the background
    t.equal(state(listener.pid), 'S', 'the target runs on: no refused attempt left it stopped');
    t.same(leftovers(images).generations, [], 'and no generation');
  },
);

t.test(
  'two checkpoints into one dir: the refused one (EAGAIN) retries once the other is done, and both commit',
  async (t) => {
    const work = tempDir('cr-retry');
    const target = await startCounter(work);
    const images = path.join(work, 'images');
    const refusals: CrftbError[] = [];
    const retry = { retries: 100, delayMs: 20, onRetry: (error: CrftbError) => refusals.push(error) };
    const [a, b] = await Promise.all([
      checkpoint({ target: target.pid, dir: images, ftb: false, retry }),
      checkpoint({ target: target.pid, dir: images, ftb: false, retry }),
    ]);
    t.ok(refusals.length >= 1, `one was refused first (${refusals.length} time(s))`);
    t.match(refusals[0], { code: 'EAGAIN', message: /another checkpoint \(pid \d+\) is writing into/ });
    t.not(a.generation, b.generation, 'each wrote its own generation');
    const last = Number(path.basename(a.generation)) > Number(path.basename(b.generation)) ? a : b;
    t.equal(fs.realpathSync(images), last.generation, 'the later one is the checkpoint');
    t.same(
      leftovers(images),
      { generations: [path.basename(last.generation)], other: [] },
      'and the only generation left',
    );
  },
);

// The generation number is read under the images lock: read before it, a request that was held
// at the lock while another committed would take the number the other had just committed, remove
// that generation and write its own over it (seen once in CI: two results named one generation).
// Several requests at once, over rounds, give that interleaving many chances.
t.test('many checkpoints into one dir at once: each commits its own generation, none removes another', async (t) => {
  const work = tempDir('cr-retry');
  const target = await startCounter(work);
  const images = path.join(work, 'images');
  const retry = { retries: 100, delayMs: 10 };
  const seen = new Set<string>();
  for (let round = 0; round < 4; round++) {
    const results = await Promise.all(
      Array.from({ length: 4 }, () => checkpoint({ target: target.pid, dir: images, ftb: false, retry })),
    );
    for (const r of results) seen.add(r.generation);
    t.equal(seen.size, 4 * (round + 1), `round ${round + 1}: every request wrote a generation of its own`);
    const last = results.reduce((a, b) =>
      Number(path.basename(a.generation)) > Number(path.basename(b.generation)) ? a : b,
    );
    t.equal(fs.realpathSync(images), last.generation, 'the highest generation is the checkpoint');
  }
  t.ok(alive(target.pid), 'the target runs on');
});

t.test('a permanent failure is reported at once, without retries', async (t) => {
  const work = tempDir('cr-retry');
  fs.mkdirSync(path.join(work, 'client'));
  fs.mkdirSync(path.join(work, 'counter'));
  const client = await startConnectedClient(path.join(work, 'client'), path.join(work, 'client', 'n'));
  t.teardown(() => client.close());
  let retries = 0;
  const retry = { retries: 10, delayMs: 10, onRetry: () => (retries += 1) };
  await t.rejects(
    checkpoint({ target: client.pid, dir: path.join(work, 'images'), ftb: false, connections: 'fail', retry }),
    {
      code: 'EBADE',
      message: /Connected TCP socket/,
    },
    "a connection CRIU may not dump (connections: 'fail'): EBADE",
  );
  const counter = await startCounter(path.join(work, 'counter'));
  const images = path.join(work, 'counter-images');
  await checkpoint({ target: counter.pid, dir: images, ftb: false });
  await t.rejects(
    restartDetailed({ dir: images, ftb: false, retry }),
    { code: 'EBUSY', message: /is still running/ },
    'a pid a running process holds: EBUSY',
  );
  t.equal(retries, 0, 'neither was retried');
  t.ok(alive(client.pid) && alive(counter.pid), 'and both targets run on');
});

t.test('options.retry is checked before anything happens', async (t) => {
  const work = tempDir('cr-retry');
  const target = await startCounter(work);
  const dir = path.join(work, 'images');
  for (const [retry, field] of [
    ['3', /options\.retry must be an object/],
    [{ retries: -1 }, /options\.retry\.retries must be an integer from 0 to 100/],
    [{ retries: 1.5 }, /options\.retry\.retries/],
    [{ delayMs: 60_001 }, /options\.retry\.delayMs must be an integer from 0 to 60000/],
    [{ onRetry: 'log' }, /options\.retry\.onRetry must be a function/],
  ] as const) {
    await t.rejects(checkpoint({ target: target.pid, dir, retry: retry as never }), {
      code: 'EINVAL',
      errno: -22,
      message: field,
    });
    await t.rejects(restartDetailed({ dir, retry: retry as never }), { code: 'EINVAL', errno: -22, message: field });
  }
  t.notOk(fs.existsSync(`${dir}.gens`), 'nothing was written');
});
