// Sustained events/s through the project's agent: an unthrottled publisher process, a callback
// subscriber (this process, default options): rate = (received - 1) / (last - first receive),
// counted in the JS listener. "None lost" means received == published: flow control (client and
// agent) holds the publisher back, whose publish() then throws FTB_ERR_NETWORK_GENERAL and is
// retried (counted as back-pressure retries). Interleaved in the same run with NATS (nats-server
// + the `nats` client, 368-byte messages) when nats-server is installed. CPU per event: user +
// system time of the three processes (agent or server, publisher, subscriber) over the events:
// the publisher's counted from its first publish to its close (as it measures itself, so the
// ~0.2 s of CPU a Node process spends starting up and loading its client is not spread over the
// events), and also, for comparison, with the publisher's whole life. One unmeasured flood of each
// first warms up the subscriber's JIT.
// Run: npm run build:ts && node bench/ftb-throughput.mjs [events] [rounds]
import { startServers } from './bench-servers.mjs';
import { load, runPublisher } from './ftb-bench-common.mjs';
import { natsSubscribe, runNatsPublisher } from './nats-peer.mjs';
import { readFileSync } from 'node:fs';

const count = Number(process.argv[2] ?? 200000);
const rounds = Number(process.argv[3] ?? 2);
const ticks = 100; // USER_HZ

/** CPU seconds (user + system) of a process so far: its own, and its children's once waited for. */
function cpuSeconds(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return { own: (Number(f[11]) + Number(f[12])) / ticks, children: (Number(f[13]) + Number(f[14])) / ticks };
}

function counter() {
  const c = { received: 0, first: 0n, last: 0n, gaps: 0, expected: 0 };
  c.take = (i) => {
    c.last = process.hrtime.bigint();
    if (c.received === 0) c.first = c.last;
    c.received++;
    if (i !== c.expected) c.gaps++;
    c.expected = i + 1;
  };
  c.rate = () => Math.round((c.received - 1) / (Number(c.last - c.first) / 1e9));
  return c;
}

async function measure(events, server, subscribe, publish) {
  const c = counter();
  const unsubscribe = await subscribe(c);
  const [self0, server0] = [cpuSeconds(process.pid), cpuSeconds(server.pid)];
  const pub = await publish(); // the publisher has exited and been waited for
  const deadline = Date.now() + 20000;
  while (c.received < events && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const [self1, server1] = [cpuSeconds(process.pid), cpuSeconds(server.pid)];
  await unsubscribe();
  const others = self1.own - self0.own + server1.own - server0.own;
  const perEvent = (seconds) => (seconds * 1e6) / c.received;
  return {
    ...pub,
    received: c.received,
    gaps: c.gaps,
    rate: c.rate(),
    cpuUsPerEvent: perEvent(others + pub.floodCpuSeconds),
    cpuUsPerEventWithStartup: perEvent(others + self1.children - self0.children),
  };
}

const before = load();
const { agent, nats, sub, stop } = await startServers();
const crftbRun = (events = count) =>
  measure(
    events,
    agent,
    async (c) => {
      const s = sub.subscribe('event_space=BENCH.PERF.PUB,event_name=BENCH_EV');
      s.on('event', (e) => c.take(e.payload.readUInt32LE(8)));
      return () => s.unsubscribe();
    },
    () => runPublisher(agent.port, 0, events),
  );
const natsRun = (events = count) =>
  measure(
    events,
    nats,
    async (c) => {
      const n = await natsSubscribe(nats.port, (data) =>
        c.take(Buffer.from(data.buffer, data.byteOffset, 12).readUInt32LE(8)),
      );
      return () => n.close();
    },
    () => runNatsPublisher(nats.port, 0, events),
  );

const line = (name, r) =>
  `  ${name}: ${r.received}/${r.published} received (${r.published - r.received} lost, ${r.gaps} gaps), ` +
  `${r.rate} events/s at the subscriber, ${r.cpuUsPerEvent.toFixed(1)} us CPU/event ` +
  `(${r.cpuUsPerEventWithStartup.toFixed(1)} with the publisher's start-up)` +
  (r.retries !== undefined ? `, ${r.retries} back-pressure retries` : '');
console.log(
  `FTB sustained throughput into a JS listener (3 processes, loopback, ${count} events, ${rounds} interleaved rounds)`,
);
console.log(`  ${before} before`);
// Not counted: a first flood of each, so both subscribers' code is compiled (JIT) before the
// rounds that are measured.
await crftbRun(count / 4);
if (nats) await natsRun(count / 4);
for (let i = 0; i < rounds; i++) {
  const a = await crftbRun();
  console.log(line('crftb', a));
  if (nats) {
    const b = await natsRun();
    console.log(line('NATS ', b));
    console.log(
      `    ratio crftb/NATS events/s ${(a.rate / b.rate).toFixed(2)}x, CPU/event ${(a.cpuUsPerEvent / b.cpuUsPerEvent).toFixed(2)}x  (${load()})`,
    );
  }
}
if (!nats) console.log('  NATS: nats-server not installed, not compared');
const stats = sub.stats();
console.log(`  subscriber stats: callbackDropped ${stats.callbackDropped}, discarded ${stats.discarded}`);
await new Promise((r) => setTimeout(r, 300));
const agentStats = agent.stats();
if (agentStats)
  console.log(
    `  agent stats: ${agentStats.eventsReceived} received, ${agentStats.eventsRouted} routed, ${agentStats.eventsDropped} dropped (its per-client queue was full), ${agentStats.backpressurePauses} back-pressure pauses`,
  );
console.log(`  ${load()} after`);
await stop();
