// Shared pieces of the FTB benches: a `crftb agent` child process, a publisher child process
// (this file run as a script), percentiles.
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.join(here, '..');
const require = createRequire(import.meta.url);
export const crftb = require(path.join(root, 'dist', 'index.js'));

/** Starts `crftb agent` on a free port; resolves { port, stop }. */
export async function startAgentProcess() {
  const child = spawn(
    process.execPath,
    [
      path.join(root, 'bin', 'crftb.js'),
      'agent',
      '--port',
      '0',
      '--advertise',
      '127.0.0.1',
      '--standalone',
      '--json',
      '--stats-interval',
      '250',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = readline.createInterface({ input: child.stdout });
  let stats = null;
  const port = await new Promise((resolve, reject) => {
    lines.on('line', (l) => {
      const j = JSON.parse(l);
      if (j.event === 'listening') resolve(j.address.port);
      if (j.stats) stats = j.stats;
    });
    child.on('exit', (code) => reject(new Error(`agent exited (${code})`)));
  });
  return {
    port,
    pid: child.pid,
    stats: () => stats,
    stop: () =>
      new Promise((r) => {
        child.on('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

/**
 * `--rt`: puts every thread of `pid` under SCHED_FIFO priority 10 (chrt), so a measurement shows
 * this code's cost rather than how long the other programs on a shared machine keep it waiting.
 * Only for processes that sleep between events (the agent, the subscriber), never a spinning one:
 * reset-on-fork (-R), so the publishers they spawn run as SCHED_OTHER.
 */
export function realtime(pid) {
  const r = spawnSync('chrt', ['-a', '-f', '-R', '-p', '10', String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`chrt failed for ${pid}: ${r.stderr || r.error}`);
}

/** "load 9.1 8.7 6.0 on 2 cores" */
export function load() {
  return `load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} on ${os.cpus().length} cores`;
}

/**
 * Runs a child that prints one JSON summary line; resolves with it once the child has exited (and
 * been waited for, so its CPU time is in this process' children's counters).
 */
export function runSummaryChild(file, args, name) {
  const child = spawn(process.execPath, [file, ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let summary = null;
  readline.createInterface({ input: child.stdout }).on('line', (l) => (summary = JSON.parse(l)));
  return new Promise((resolve, reject) => {
    child.on('close', (code) =>
      code === 0 && summary ? resolve(summary) : reject(new Error(`${name} exited (${code})`)),
    );
  });
}

/** Runs the publisher child: resolves with its summary once it has published `count` events. */
export function runPublisher(port, rate, count, startDelayMs = 300) {
  return runSummaryChild(fileURLToPath(import.meta.url), ['publish', port, rate, count, startDelayMs], 'publisher');
}

/**
 * The platform's floor for the same measurement: one plain loopback TCP hop (TCP_NODELAY) from a
 * Node child paced exactly like the publisher to this process's 'data' listener, no FTB at all.
 * Resolves with the sorted latencies (µs).
 */
export async function measureLoopbackHop(rate, count) {
  const latencies = [];
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      const now = process.hrtime.bigint();
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      for (; pending.length >= 8; pending = pending.subarray(8))
        latencies.push(Number(now - pending.readBigUInt64LE(0)) / 1000);
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), 'hop', String(server.address().port), String(rate), String(count), '300'],
    { stdio: 'inherit' },
  );
  await new Promise((r) => child.on('exit', r));
  await new Promise((r) => setTimeout(r, 100));
  server.close();
  return latencies.sort((a, b) => a - b);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** User + system CPU seconds this process has used since `process.cpuUsage()` returned `start`. */
export function cpuSecondsSince(start) {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

// ---- publisher child ------------------------------------------------------------------------
/** Waits until event i of a run at `rate`/s is due: timers, then a spin for the last 2 ms. */
export async function pace(started, rate, i) {
  if (!(rate > 0)) return;
  const due = started + BigInt(Math.round(1e9 / rate)) * BigInt(i);
  for (;;) {
    const left = due - process.hrtime.bigint();
    if (left <= 0n) break;
    if (left > 2000000n) await new Promise((r) => setTimeout(r, Number(left / 1000000n) - 1));
  }
}

async function hop(port, rate, count, startDelayMs) {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  socket.setNoDelay(true);
  await new Promise((r) => setTimeout(r, startDelayMs));
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (rate > 0) await pace(started, rate, i); // a flood does not yield per event
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64LE(process.hrtime.bigint());
    socket.write(stamp);
  }
  await new Promise((r) => socket.end(r));
}

async function publish(port, rate, count, startDelayMs) {
  const client = await crftb.FtbClient.connect(
    { eventSpace: 'BENCH.PERF.PUB', clientName: 'bpub' },
    { agentHost: '127.0.0.1', agentPort: port },
  );
  client.declare([{ name: 'BENCH_EV', severity: 'info' }]);
  await new Promise((r) => setTimeout(r, startDelayMs));
  const payload = Buffer.alloc(12);
  let retries = 0;
  // Publishes within 20 µs of the previous one (a publisher catching up after being descheduled):
  // the client coalesces those in its backlog, which its I/O thread writes (native/ftb/connection.cc
  // kBurstWindowNs), so they wait for that thread too: one source of the latency tail.
  let bursts = 0;
  let previous = 0n;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (rate > 0) await pace(started, rate, i); // a flood does not yield per event
    for (;;) {
      const now = process.hrtime.bigint();
      if (now - previous < 20000n) bursts++;
      previous = now;
      payload.writeBigUInt64LE(now, 0);
      payload.writeUInt32LE(i, 8);
      try {
        client.publish('BENCH_EV', { payload });
        break;
      } catch (error) {
        if (error.code !== 'FTB_ERR_NETWORK_GENERAL') throw error;
        retries++; // the agent has not taken our backlog yet: back-pressure, try again
        await new Promise((r) => setImmediate(r));
      }
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await new Promise((r) => setTimeout(r, 200));
  await client.close();
  const floodCpuSeconds = cpuSecondsSince(cpu);
  process.stdout.write(
    `${JSON.stringify({ published: count, seconds, rate: count / seconds, retries, bursts, floodCpuSeconds })}\n`,
  );
}

if (process.argv[2] === 'hop') {
  const [port, rate, count, delay] = process.argv.slice(3).map(Number);
  hop(port, rate, count, delay).catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}

if (process.argv[2] === 'publish') {
  const [port, rate, count, delay] = process.argv.slice(3).map(Number);
  publish(port, rate, count, delay).catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}
