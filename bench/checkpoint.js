#!/usr/bin/env node
// Checkpoint/restart wall times: crftb's self-checkpoint (libcriu) and restart() next to the criu
// CLI on the same process, and a raw copy of the same image bytes.
//   node bench/checkpoint.js [MiB ...]        (default: 10 100 1024; needs root and a built dist/)
// Targets: self-checkpoint <= 1.15x the CLI dump; incremental second checkpoint <= 0.3x a full one.
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { restart, locateCriu } = require(path.join(__dirname, '..', 'dist'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const criu = locateCriu().path;

function lines(file) {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

async function until(what, check, ms = 120000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

const reaped = (pid) => until(`pid ${pid} reaped`, () => !fs.existsSync(`/proc/${pid}`));

function dirBytes(dir) {
  let total = 0;
  for (const f of fs.readdirSync(dir)) {
    const st = fs.lstatSync(path.join(dir, f));
    if (st.isFile()) total += st.size;
  }
  return total;
}

async function measure(mib) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-bench-'));
  const out = fs.openSync(path.join(work, 'child.log'), 'a');
  const child = spawn(process.execPath, [path.join(__dirname, 'checkpoint-child.js'), work, String(mib)], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, UV_USE_IO_URING: '0' },
  });
  const exited = new Promise((r) => child.once('exit', r));
  const statusFile = path.join(work, 'status');
  const pids = [child.pid];
  try {
    await until('the child to fill its heap', () => lines(statusFile).length >= 1);
    const ask = async (n) => {
      process.kill(child.pid, 'SIGUSR2');
      await until('a self-checkpoint', () => lines(statusFile).length >= n + 1);
      const s = lines(statusFile)[n];
      if (s.error) throw new Error(s.error);
      return s;
    };
    const full = await ask(1);
    await sleep(200);
    const second = await ask(2);

    const cliDir = path.join(work, 'cli');
    fs.mkdirSync(cliDir, { mode: 0o700 });
    let t = now();
    execFileSync(criu, ['dump', '-t', String(child.pid), '-D', cliDir, '--leave-running', '-o', 'dump.log'], { stdio: 'ignore' });
    const cliDump = now() - t;

    const copyDir = path.join(work, 'copy');
    t = now();
    fs.cpSync(cliDir, copyDir, { recursive: true });
    execFileSync('sync', ['-f', copyDir]);
    const rawCopy = now() - t;

    process.kill(child.pid, 'SIGKILL');
    await exited;
    await reaped(child.pid);
    t = now();
    const pid = await restart({ dir: path.join(work, 'self'), ftb: false });
    const selfRestart = now() - t;
    process.kill(pid, 'SIGKILL');
    await reaped(pid);
    t = now();
    execFileSync(criu, ['restore', '-D', cliDir, '-d', '-o', 'restore.log'], { stdio: 'ignore' });
    const cliRestore = now() - t;
    process.kill(child.pid, 'SIGKILL');
    await reaped(child.pid);
    return { mib, full, second, cliDump, rawCopy, selfRestart, cliRestore, bytes: dirBytes(cliDir) };
  } finally {
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

(async () => {
  const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
  const f = (ms) => `${ms.toFixed(1)} ms`.padStart(11);
  console.log(`crftb checkpoint bench (CRIU ${execFileSync(criu, ['--version']).toString().split('\n')[0].replace('Version: ', '')}, ${criu})`);
  console.log('heap     | self ckpt | criu dump | ratio | incr 2nd (ratio)        | raw copy  | restart() | criu restore | images');
  for (const mib of sizes.length ? sizes : [10, 100, 1024]) {
    const r = await measure(mib);
    const ratio = r.full.wallMs / r.cliDump;
    const incr = r.second.wallMs / r.full.wallMs;
    console.log(
      `${String(mib).padStart(5)} MiB|${f(r.full.wallMs)}|${f(r.cliDump)}| ${ratio.toFixed(2)}x |${f(r.second.wallMs)} ${incr.toFixed(2)}x ${r.second.incremental ? 'incr' : 'FULL (no soft-dirty)'}`.padEnd(88) +
        `|${f(r.rawCopy)}|${f(r.selfRestart)}|${f(r.cliRestore)}  | ${(r.bytes / 1048576).toFixed(0)} MiB`,
    );
  }
  console.log('targets: self ckpt <= 1.15x criu dump; incremental 2nd <= 0.3x full (needs CONFIG_MEM_SOFT_DIRTY)');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
