// NATS as the comparison a user would pick today: Debian's nats-server and the `nats` npm client
// (a dev dependency), measured the same way as the FTB path in the same run. Only when
// `nats-server` is on PATH; never figures from elsewhere. The server listens on loopback only.
// This file run as a script is the publisher child.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import readline from 'node:readline';
import { cpuSecondsSince, pace, runSummaryChild } from './ftb-bench-common.mjs';

export const MESSAGE_BYTES = 368; // an FTB event's payload
const SUBJECT = 'bench.perf';

/** Whether a NATS comparison can run: nats-server installed. */
export function natsAvailable() {
  return spawnSync('nats-server', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function freePort() {
  const net = await import('node:net');
  const server = net.createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** Starts nats-server on 127.0.0.1; resolves { port, pid, stop }. */
export async function startNatsServer() {
  const port = await freePort();
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stderr }).on('line', (l) => {
      if (l.includes('Server is ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`nats-server exited (${code})`)));
  });
  return {
    port,
    pid: child.pid,
    stop: () =>
      new Promise((r) => {
        child.on('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

/** A subscriber in this process: onMessage(payload: Uint8Array) for each message. */
export async function natsSubscribe(port, onMessage) {
  const { connect } = await import('nats');
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  nc.subscribe(SUBJECT, {
    callback: (err, m) => {
      if (!err) onMessage(m.data);
    },
  });
  await nc.flush();
  return { close: () => nc.close() };
}

/** Runs the publisher child: resolves with { published, seconds, rate }. */
export function runNatsPublisher(port, rate, count, startDelayMs = 300) {
  return runSummaryChild(fileURLToPath(import.meta.url), [port, rate, count, startDelayMs], 'NATS publisher');
}

async function publish(port, rate, count, startDelayMs) {
  const { connect } = await import('nats');
  const nc = await connect({ servers: `127.0.0.1:${port}` });
  await new Promise((r) => setTimeout(r, startDelayMs));
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (rate > 0) await pace(started, rate, i); // a flood does not yield per event
    // A new payload each time: the client keeps a reference to it until it writes (crftb's publish
    // copies, so its publisher reuses one); reusing it here sent the last stamp n times over.
    const payload = Buffer.alloc(MESSAGE_BYTES);
    payload.writeBigUInt64LE(process.hrtime.bigint(), 0);
    payload.writeUInt32LE(i, 8);
    nc.publish(SUBJECT, payload);
    // Unpaced: let the client write what it buffered now and then, as a real flood would.
    if (!(rate > 0) && (i & 1023) === 1023) await nc.flush();
  }
  await nc.flush();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await nc.close();
  const floodCpuSeconds = cpuSecondsSince(cpu);
  process.stdout.write(`${JSON.stringify({ published: count, seconds, rate: count / seconds, floodCpuSeconds })}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [port, rate, count, delay] = process.argv.slice(2).map(Number);
  publish(port, rate, count, delay).catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(1);
  });
}
