// crftb against the real FTB 0.6.2, measured in the same run, only when FTB_HOME names a build of
// it (include/libftb.h, lib/libftb.so, ftb_agent and ftb_database_server in bin/ or sbin/); nothing
// of FTB is in this repository. The real agents run only inside a network namespace this bench
// creates (loopback only) and every process in it is killed before the namespace is removed.
// Matrix, interleaved per round: {C subscriber (bench/ftb-c-client.c, linked with FTB's libftb),
// crftb JS listener} x {real ftb_agent, crftb agent}, always with the same C publisher, and the
// floors (one loopback TCP hop between two C processes, and two through a C relay, no FTB; and the
// same two hops ending in a plain Node socket, what any Node listener behind an agent costs);
// latency at 20 and 1,000 events/s
// and a flood for throughput, then the ratios of the same run. Needs root (ip netns) and a C
// compiler.
// Run: FTB_HOME=/opt/ftb-0.6.2 node bench/ftb-real.mjs [events-at-20/s] [events-at-1000/s] [flood]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { crftb, load, percentile, root, startAgentProcess } from './ftb-bench-common.mjs';

const self = fileURLToPath(import.meta.url);
const mode = process.argv[2];

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout;
}

function findIn(home, name) {
  for (const dir of ['sbin', 'bin']) if (existsSync(path.join(home, dir, name))) return path.join(home, dir, name);
  throw new Error(`FTB_HOME=${home} has no ${name} in bin/ or sbin/`);
}

/** Outside: compile the C client, create the namespace, run the bench inside it, clean up. */
async function outside() {
  const home = process.env.FTB_HOME;
  if (!home) {
    console.log('real FTB 0.6.2: not compared (set FTB_HOME to a build of it)');
    return;
  }
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'crftb-ftb-real-'));
  const ns = `crftb-bench-${process.pid}`;
  try {
    const client = path.join(tmp, 'ftb-c-client');
    run('cc', [
      '-O2',
      '-I',
      path.join(home, 'include'),
      path.join(root, 'bench', 'ftb-c-client.c'),
      '-L',
      path.join(home, 'lib'),
      `-Wl,-rpath,${path.join(home, 'lib')}`,
      '-lftb',
      '-lpthread',
      '-o',
      client,
    ]);
    run('ip', ['netns', 'add', ns]);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        self,
        'inside',
        client,
        findIn(home, 'ftb_agent'),
        findIn(home, 'ftb_database_server'),
        ...process.argv.slice(2),
      ],
      { stdio: 'inherit' },
    );
    await new Promise((r) => child.on('exit', r));
  } finally {
    // Everything in the namespace was started by this bench (the daemonised agents included).
    const pids =
      spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
    for (const pid of pids)
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    spawnSync('ip', ['netns', 'del', ns]);
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * Resolves once a socket of this network namespace is bound to `port` (`proto`: 'tcp' listening,
 * 'udp' bound): the daemon is up. /proc/net is the reading process's namespace's.
 */
async function untilBound(proto, port, what) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  const deadline = Date.now() + 10000;
  for (;;) {
    const lines = readFileSync(`/proc/net/${proto}`, 'utf8').split('\n').slice(1);
    // Field 2 is the local address; state 0A is LISTEN (UDP sockets show 07).
    if (
      lines.some(
        (l) => l.trim().split(/\s+/)[1]?.endsWith(hex.trim()) && (proto === 'udp' || l.trim().split(/\s+/)[3] === '0A'),
      )
    )
      return;
    if (Date.now() > deadline) throw new Error(`${what} did not bind ${proto} port ${port} within 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What a bench child prints: "port N" (where it listens), "ready", one latency per line, a JSON
 * summary. `ready` resolves with the port, or rejects if the child exits first; `done` resolves
 * with the latencies and the summary once it has exited.
 */
function reportOf(child, what) {
  const latencies = [];
  let summary = null;
  let port = 0;
  let ready;
  let failed;
  const isReady = new Promise((resolve, reject) => {
    ready = resolve;
    failed = reject;
  });
  readline.createInterface({ input: child.stdout }).on('line', (l) => {
    if (l === 'ready') ready(port);
    else if (l.startsWith('port ')) port = Number(l.slice(5));
    else if (l.startsWith('{')) summary = JSON.parse(l);
    else latencies.push(Number(l));
  });
  const done = new Promise((resolve) =>
    child.on('exit', (code) => {
      failed(new Error(`${what} exited (${code}) before it was ready`));
      resolve({ latencies, summary });
    }),
  );
  return { ready: isReady, done };
}

/**
 * A subscriber child on the agent at `port` (C or JS), or a floor's receiving end (`hop` in C,
 * `nodehop` a plain Node socket): resolves { done, port } once it is ready (`port`: where the
 * hop listens).
 */
async function startSubscriber(kind, client, port, count, timeoutS) {
  const env = { ...process.env, FTB_AGENT_PORT: String(port), FTB_BSTRAP_SERVER: '127.0.0.1' };
  const stdio = ['ignore', 'pipe', 'inherit'];
  const [command, ...args] = {
    C: [client, 'sub'],
    hop: [client, 'hopsub'],
    nodehop: [process.execPath, self, 'nodehop'],
    JS: [process.execPath, self, 'jssub', String(port)],
  }[kind];
  const child = spawn(command, [...args, String(count), String(timeoutS)], { env, stdio });
  const { ready, done } = reportOf(child, `the ${kind} subscriber`);
  return { done, port: await ready };
}

function publishWith(client, args, port) {
  const env = { ...process.env, FTB_AGENT_PORT: String(port), FTB_BSTRAP_SERVER: '127.0.0.1' };
  const r = spawnSync(client, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`C publisher failed (${r.status}): ${r.stderr}`);
}

/** The two-hop floors' relay in front of the hop subscriber at `port`: resolves its own port. */
function startRelay(client, port) {
  const child = spawn(client, ['hoprelay', String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return reportOf(child, 'the relay').ready;
}

// The floors: which receiving end, and whether a relay stands between it and the publisher.
const floors = {
  hop: { receiver: 'hop', relay: false },
  relay: { receiver: 'hop', relay: true },
  noderelay: { receiver: 'nodehop', relay: true },
};

async function measure(kind, client, port, rate, count) {
  const floor = floors[kind];
  const sub = await startSubscriber(
    floor ? floor.receiver : kind,
    client,
    port,
    count,
    rate > 0 ? Math.ceil(count / rate) + 10 : 60,
  );
  const to = floor?.relay ? await startRelay(client, sub.port) : sub.port;
  if (floor) publishWith(client, ['hoppub', String(to), String(rate), String(count)], port);
  else publishWith(client, ['pub', String(rate), String(count)], port);
  return sub.done;
}

const p50 = (l) => percentile(l, 50);
const p99 = (l) => percentile(l, 99);
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

/** Inside the namespace: the real bootstrap server and agent, crftb's agent, the rounds. */
async function inside([client, agentBin, serverBin, ...args]) {
  const rounds = Number(process.env.CRFTB_BENCH_ROUNDS ?? 2);
  const rates = [
    { rate: 20, count: Number(args[0] ?? 200) },
    { rate: 1000, count: Number(args[1] ?? 2000) },
  ];
  const flood = Number(args[2] ?? 100000);
  const real = { port: 10809 };
  const env = {
    ...process.env,
    FTB_BSTRAP_SERVER: '127.0.0.1',
    FTB_BSTRAP_PORT: '14455',
    FTB_AGENT_PORT: String(real.port),
  };
  const server = spawn(serverBin, [], { env, stdio: 'ignore' });
  await untilBound('udp', 14455, 'ftb_database_server');
  spawn(agentBin, [], { env, stdio: 'ignore' }); // daemonises; the namespace's teardown kills it
  await untilBound('tcp', real.port, 'ftb_agent');
  const ours = await startAgentProcess();
  const agents = [
    ['real ftb_agent', real.port],
    ['crftb agent', ours.port],
  ];
  console.log(
    `crftb vs the real FTB 0.6.2 (FTB_HOME=${process.env.FTB_HOME}; in a network namespace; C publisher; ${rounds} interleaved rounds)`,
  );
  console.log(`  ${load()} before`);
  for (const { rate, count } of rates) {
    const got = {};
    const take = async (key, kind, port) => {
      const { latencies } = await measure(kind, client, port, rate, Math.ceil(count / rounds));
      got[key] ??= [];
      got[key].push(...latencies);
    };
    for (let r = 0; r < rounds; r++) {
      for (const [name, port] of agents) {
        for (const kind of ['C', 'JS']) await take(`${kind} subscriber, ${name}`, kind, port);
      }
      await take('floor: one C TCP hop', 'hop', 0);
      await take('floor: two C TCP hops (relay)', 'relay', 0);
      await take('floor: two hops to a Node socket', 'noderelay', 0);
    }
    console.log(`  ${rate} events/s (${load()})`);
    for (const [key, l] of Object.entries(got)) {
      l.sort((a, b) => a - b);
      console.log(`    ${key.padEnd(34)} p50 ${p50(l).toFixed(1)} us, p99 ${p99(l).toFixed(1)} us (${l.length})`);
    }
    const js = got['JS subscriber, crftb agent'];
    const c = got['C subscriber, crftb agent'];
    const floor = got['floor: one C TCP hop'];
    const twoHops = got['floor: two C TCP hops (relay)'];
    const nodeHops = got['floor: two hops to a Node socket'];
    const realC = got['C subscriber, real ftb_agent'];
    console.log(
      `    ratios, p50 / p99: crftb JS listener / C subscriber on crftb's agent ${ratio(p50(js), p50(c))} / ${ratio(p99(js), p99(c))}; ` +
        `/ floor ${ratio(p50(js), p50(floor))} / ${ratio(p99(js), p99(floor))}; ` +
        `/ two-hop floor ${ratio(p50(js), p50(twoHops))} / ${ratio(p99(js), p99(twoHops))}; ` +
        `/ two hops to Node ${ratio(p50(js), p50(nodeHops))} / ${ratio(p99(js), p99(nodeHops))}; ` +
        `two hops to Node / to C ${ratio(p50(nodeHops), p50(twoHops))} / ${ratio(p99(nodeHops), p99(twoHops))}; ` +
        `C subscriber, crftb agent / real agent ${ratio(p50(c), p50(realC))} / ${ratio(p99(c), p99(realC))}`,
    );
  }
  for (let r = 0; r < rounds; r++) {
    for (const [name, port] of agents) {
      for (const kind of ['C', 'JS']) {
        const { summary } = await measure(kind, client, port, 0, flood);
        const rate = summary && summary.received > 1 ? Math.round((summary.received - 1) / summary.seconds) : 0;
        console.log(
          `  flood, ${kind} subscriber, ${name}: ${summary?.received ?? 0}/${flood} received, ${rate} events/s (${load()})`,
        );
      }
    }
  }
  console.log(`  ${load()} after`);
  await ours.stop();
  // The database server is this process's child (its handle would keep it alive); the agent
  // daemonised, and the outside half kills whatever is left in the namespace once this exits.
  server.kill('SIGKILL');
  server.unref();
}

/** What a Node subscriber child prints once done, in the lines reportOf reads (as the C client's). */
function report(latencies, first, last) {
  const summary = { received: latencies.length, seconds: Number(last - first) / 1e9 };
  return `${latencies.map((l) => l.toFixed(1)).join('\n')}\n${JSON.stringify(summary)}\n`;
}

/** A crftb JS listener in a process of its own (one FTB connection per process). */
async function jsSubscriber([port, count, timeoutS]) {
  const sub = await crftb.FtbClient.connect(
    { eventSpace: 'BENCH.PERF.JSUB', clientName: 'jsub', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    { agentHost: '127.0.0.1', agentPort: Number(port) },
  );
  const latencies = [];
  let first = 0n;
  let last = 0n;
  // Waits on the last event (or the deadline), not polling: as the C subscriber does.
  let allReceived;
  const done = new Promise((r) => {
    allReceived = r;
  });
  sub.subscribe('event_space=BENCH.PERF.PUB,event_name=BENCH_EV').on('event', (e) => {
    last = process.hrtime.bigint();
    if (latencies.length === 0) first = last;
    latencies.push(Number(last - e.payload.readBigUInt64LE(0)) / 1000);
    if (latencies.length === Number(count)) allReceived();
  });
  process.stdout.write('ready\n');
  const deadline = setTimeout(allReceived, Number(timeoutS) * 1000);
  await done;
  clearTimeout(deadline);
  process.stdout.write(report(latencies, first, last));
  await sub.close();
}

/**
 * The Node floor's receiving end: a plain `net` socket on a loopback port of its own (no crftb),
 * 8-byte stamps read in its 'data' listener, output as the C hopsub's.
 */
async function nodeHopSubscriber([count, timeoutS]) {
  const latencies = [];
  let first = 0n;
  let last = 0n;
  let pending = Buffer.alloc(0);
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      last = process.hrtime.bigint();
      if (latencies.length === 0) first = last;
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      for (; pending.length - at >= 8; at += 8) latencies.push(Number(last - pending.readBigInt64LE(at)) / 1000);
      pending = pending.subarray(at);
      if (latencies.length >= Number(count)) finish();
    });
    socket.on('end', finish);
  });
  const deadline = setTimeout(finish, Number(timeoutS) * 1000);
  let finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    clearTimeout(deadline);
    process.stdout.write(report(latencies, first, last), () => process.exit(0));
  }
  server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\nready\n`));
}

const main =
  mode === 'inside'
    ? () => inside(process.argv.slice(3))
    : mode === 'jssub'
      ? () => jsSubscriber(process.argv.slice(3))
      : mode === 'nodehop'
        ? () => nodeHopSubscriber(process.argv.slice(3))
        : outside;
main().catch((e) => {
  process.stderr.write(`${e.stack}\n`);
  process.exit(1);
});
