#!/usr/bin/env node
// Checkpoint/restart wall times: crftb's self-checkpoint (libcriu) next to the criu CLI on the same
// process, how long the self-checkpoint kept the process frozen (frozenSeconds), the first
// self-checkpoint of a process next to the CLI's first dump of a process, an incremental second
// checkpoint, restart() next to `criu restore`, and a raw copy of the same image bytes.
//   node bench/checkpoint.js [MiB ...]        (default: 10 100 1024; needs root and a built dist/)
//   CRFTB_BENCH_RUNS=N                         measured pairs per size (default 7)
//   CRFTB_BENCH_FIRST_RUNS=N                   first-dump pairs per size, on new processes (default 5)
//   CRFTB_BENCH_VERBOSE=1                      every measurement, with the load average at the time
// Fairness: the target (a setsid'd child, stdio on a file) is the same process for both; its first
// self-checkpoint (which loads libcriu and starts crftb's CRIU service) and one CLI dump are
// warm-ups; then self and CLI full dumps alternate (ABBA, so a load trend hits both alike), each
// CLI dump into a fresh directory; restart() of the self images and `criu restore` of the CLI
// images alternate the same way. The table gives medians, both image sizes and the 1-minute load
// average before and after each size: figures move with the machine's load.
// First dumps: on this VM a dump of a process that has just filled a 1 GiB heap is slow whoever
// makes it: the CLI's first dump 50-300 ms after the fill took 570-2,500 ms where its later dumps
// of the same process took ~300 ms, and 8 s after the fill 288 ms (3 December; the guest was idle
// meanwhile: the hypervisor backing the new memory, not CRIU or the process). So the first
// self-checkpoint is compared with the CLI's first dump of a process started and filled the same
// way, both 3 s after the fill: pairs of new processes, one checkpointing itself once, the other
// dumped once by the CLI, in alternating order; the table gives the medians, and the first
// self-checkpoint against the later CLI dumps as well.
// Targets (issue 14): self-checkpoint and restart() <= 1.10x the CLI at every size, the first
// self-checkpoint <= 1.5x the CLI dump; incremental second checkpoint <= 0.3x a full one.

const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { restart, locateCriu } = require(path.join(__dirname, '..', 'dist'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Before each measurement: earlier images written back to disk (sync), so no dump or restore
// pays for its predecessors' writeback (at 1 GiB that swung single CLI dumps from 0.35 to 2 s).
const settle = async (ms = 100) => {
  execFileSync('sync');
  await sleep(ms);
};
const now = () => Number(process.hrtime.bigint()) / 1e6;
const criu = locateCriu().path;
const runs = Math.max(1, Number(process.env.CRFTB_BENCH_RUNS) || 7);
const firstRuns = Math.max(1, Number(process.env.CRFTB_BENCH_FIRST_RUNS) || 5);
// How long a new process sits with its heap full before its first dump (see First dumps above).
const firstDelayMs = Number(process.env.CRFTB_BENCH_FIRST_DELAY_MS ?? 3000);
const load = () => os.loadavg()[0].toFixed(1);
const log = (what) => {
  if (process.env.CRFTB_BENCH_VERBOSE) console.log(`  ${what.padEnd(24)} load ${load()}`);
};
const median = (xs) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function lines(file) {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function until(what, check, ms = 120000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const reaped = (pid) => until(`pid ${pid} reaped`, () => !fs.existsSync(`/proc/${pid}`));

function dirBytes(dir) {
  let total = 0;
  for (const f of fs.readdirSync(dir)) {
    const st = fs.lstatSync(path.join(dir, f));
    if (st.isFile() && !f.endsWith('.log')) total += st.size;
  }
  return total;
}

/** A new target of `mib` MiB in a setsid'd child: its self-checkpoints and the CLI's dumps of it. */
function startTarget(mib) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-bench-'));
  const out = fs.openSync(path.join(work, 'child.log'), 'a');
  const child = spawn(process.execPath, [path.join(__dirname, 'checkpoint-child.js'), work, String(mib)], {
    detached: true, // setsid: the child's own session, never this one
    stdio: ['ignore', out, out],
    env: { ...process.env, UV_USE_IO_URING: '0' },
  });
  fs.closeSync(out);
  const exited = new Promise((r) => child.once('exit', r));
  const statusFile = path.join(work, 'status');
  let asked = 0;
  const self = async (incremental = false) => {
    fs.writeFileSync(path.join(work, 'request'), JSON.stringify({ incremental }));
    asked += 1;
    process.kill(child.pid, 'SIGUSR2');
    await until('a self-checkpoint', () => lines(statusFile).length >= asked + 1);
    const s = lines(statusFile)[asked];
    if (s.error) throw new Error(s.error);
    return s;
  };
  let cliN = 0;
  const cli = () => {
    const dir = path.join(work, `cli-${++cliN}`);
    fs.mkdirSync(dir, { mode: 0o700 });
    const t = now();
    execFileSync(criu, ['dump', '-t', String(child.pid), '-D', dir, '--leave-running', '-o', 'dump.log'], {
      stdio: 'ignore',
    });
    return { ms: now() - t, dir, bytes: dirBytes(dir) };
  };
  const filled = () => until('the child to fill its heap', () => lines(statusFile).length >= 1);
  let stopped = false;
  // Once only: after it the pid is free, and the restores below bring it back for themselves.
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
    await exited;
    await reaped(child.pid);
  };
  const remove = () => fs.rmSync(work, { recursive: true, force: true });
  return { child, work, self, cli, filled, stop, remove };
}

/** First dumps of new processes: a self-checkpoint and a CLI dump alternating, each on its own process. */
async function firstDumps(mib) {
  const ms = { self: [], cli: [] };
  for (let i = 0; i < firstRuns; i += 1) {
    for (const which of i % 2 ? ['cli', 'self'] : ['self', 'cli']) {
      const target = startTarget(mib);
      try {
        await target.filled();
        await settle(firstDelayMs);
        ms[which].push(which === 'self' ? (await target.self()).wallMs : target.cli().ms);
        log(`first ${which === 'self' ? 'checkpoint()' : 'criu dump'} ${ms[which].at(-1).toFixed(0)} ms`);
      } finally {
        await target.stop();
        target.remove();
      }
    }
  }
  return { firstSelf: median(ms.self), firstCli: median(ms.cli) };
}

async function measure(mib) {
  const first = await firstDumps(mib);
  const { child, work, self, cli, filled, stop, remove } = startTarget(mib);
  try {
    await filled();
    await settle();
    await self(); // warm-up: loads libcriu, starts the CRIU service
    await settle();
    fs.rmSync(cli().dir, { recursive: true });
    const selfMs = [];
    const frozenMs = [];
    const cliMs = [];
    let selfBytes = 0;
    let last;
    for (let i = 0; i < runs; i += 1) {
      const pair = i % 2 ? ['cli', 'self'] : ['self', 'cli'];
      for (const which of pair) {
        await settle();
        if (which === 'self') {
          const s = await self();
          selfMs.push(s.wallMs);
          frozenMs.push(s.frozen * 1000);
          selfBytes = s.bytes;
          log(`checkpoint() ${s.wallMs.toFixed(0)} ms`);
        } else {
          const c = cli();
          cliMs.push(c.ms);
          log(`criu dump ${c.ms.toFixed(0)} ms`);
          if (last) fs.rmSync(last.dir, { recursive: true });
          last = c;
        }
      }
    }
    await settle();
    const full = await self();
    await settle(200);
    const second = await self(true);

    const copyDir = path.join(work, 'copy');
    const t = now();
    fs.cpSync(last.dir, copyDir, { recursive: true });
    execFileSync('sync', ['-f', copyDir]);
    const rawCopy = now() - t;

    await stop();
    // Each restore brings back the same pid, killed (and gone) before the next one.
    const restartMs = [];
    const restoreMs = [];
    const restoreSelf = async () => {
      const t0 = now();
      const pid = await restart({ dir: path.join(work, 'self'), ftb: false });
      restartMs.push(now() - t0);
      log(`restart() ${restartMs.at(-1).toFixed(0)} ms`);
      process.kill(pid, 'SIGKILL');
      await reaped(pid);
    };
    const restoreCli = async () => {
      const t0 = now();
      execFileSync(criu, ['restore', '-D', last.dir, '-d', '-o', 'restore.log'], { stdio: 'ignore' });
      restoreMs.push(now() - t0);
      log(`criu restore ${restoreMs.at(-1).toFixed(0)} ms`);
      process.kill(child.pid, 'SIGKILL');
      await reaped(child.pid);
    };
    for (let i = 0; i < runs; i += 1) {
      for (const restoreOne of i % 2 ? [restoreCli, restoreSelf] : [restoreSelf, restoreCli]) {
        await settle();
        await restoreOne();
      }
    }
    return {
      mib,
      ...first,
      selfMed: median(selfMs),
      frozenMed: median(frozenMs),
      cliMed: median(cliMs),
      selfMs,
      cliMs,
      full,
      second,
      rawCopy,
      restartMed: median(restartMs),
      restoreMed: median(restoreMs),
      selfBytes,
      cliBytes: last.bytes,
    };
  } finally {
    await stop();
    remove();
  }
}

(async () => {
  const sizes = process.argv
    .slice(2)
    .map(Number)
    .filter((n) => n > 0);
  const f = (ms) => `${ms.toFixed(0)} ms`.padStart(8);
  const x = (r) => `${r.toFixed(2)}x`.padStart(6);
  const mb = (b) => `${(b / 1048576).toFixed(1)}`;
  console.log(
    `crftb checkpoint bench (CRIU ${execFileSync(criu, ['--version']).toString().split('\n')[0].replace('Version: ', '')}, ${criu}), ` +
      `${os.cpus().length} CPUs, medians of ${runs} alternating pairs, ${new Date().toISOString()}`,
  );
  console.log(
    'heap MiB | checkpoint() criu dump  ratio | frozen   | 1st self 1st criu  ratio (vs later) | restart() criu restore ratio | incr 2nd (vs full)    | raw copy | images self/cli MiB | load 1 min',
  );
  for (const mib of sizes.length ? sizes : [10, 100, 1024]) {
    const before = load();
    const r = await measure(mib);
    const incr = r.second.wallMs / r.full.wallMs;
    console.log(
      `${String(mib).padStart(8)} | ${f(r.selfMed)} ${f(r.cliMed)} ${x(r.selfMed / r.cliMed)} | ${f(r.frozenMed)} | ${f(r.firstSelf)} ${f(r.firstCli)} ${x(r.firstSelf / r.firstCli)} (${x(r.firstSelf / r.cliMed)}) | ` +
        `${f(r.restartMed)} ${f(r.restoreMed)}   ${x(r.restartMed / r.restoreMed)} | ${f(r.second.wallMs)} ${x(incr)} ${r.second.incremental ? 'incr' : 'FULL'} | ` +
        `${f(r.rawCopy)} | ${`${mb(r.selfBytes)} / ${mb(r.cliBytes)}`.padStart(19)} | ${before}..${load()}`,
    );
  }
  console.log(
    'targets: checkpoint() and restart() <= 1.10x the CLI, 1st self <= 1.5x 1st criu dump; incremental 2nd <= 0.3x full ' +
      '(needs CONFIG_MEM_SOFT_DIRTY; FULL = none here)',
  );
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
