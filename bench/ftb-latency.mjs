// Publish -> callback latency across processes through the project's agent (3 processes: agent,
// publisher, this subscriber), at 20 and 1,000 events/s: payload bytes 0-7 = CLOCK_MONOTONIC ns
// taken just before FtbClient.publish() (after the publisher's pacing, so its timer jitter is not
// counted), latency read on entry to the JS 'event' listener: what a user of the JS API sees.
// Interleaved in the same run, measured the same way: one plain loopback TCP hop Node -> Node
// (the floor), and NATS (nats-server + the `nats` client, 368-byte messages) when nats-server is
// installed. Each rate runs in rounds (crftb, floor, NATS, crftb, ...) so load drifts hit all.
// Run: npm run build:ts && node bench/ftb-latency.mjs [events-at-20/s] [events-at-1000/s] [--rt]
// --rt: the agents and the subscriber run under SCHED_FIFO (chrt -f 10; root), which shows the
// code's own cost on a machine other programs keep busy. The publishers stay SCHED_OTHER.
import { startServers } from './bench-servers.mjs';
import { load, measureLoopbackHop, percentile, realtime, runPublisher } from './ftb-bench-common.mjs';
import { natsSubscribe, runNatsPublisher } from './nats-peer.mjs';

const args = process.argv.slice(2).filter((a) => a !== '--rt');
const rt = process.argv.includes('--rt');
const rounds = Number(process.env.CRFTB_BENCH_ROUNDS ?? 4);
const runs = [
  { rate: 20, count: Number(args[0] ?? 200) },
  { rate: 1000, count: Number(args[1] ?? 2000) },
];

const before = load();
const { agent, nats, sub, stop } = await startServers();
if (rt) {
  realtime(agent.pid);
  if (nats) realtime(nats.pid);
  realtime(process.pid); // after connect: the client's I/O thread exists now
}
const subscription = sub.subscribe('event_space=BENCH.PERF.PUB,event_name=BENCH_EV');
let sink = [];
subscription.on('event', (e) => {
  const now = process.hrtime.bigint();
  sink.push(Number(now - e.payload.readBigUInt64LE(0)) / 1000);
});
const natsSub = nats
  ? await natsSubscribe(nats.port, (data) => {
      const now = process.hrtime.bigint();
      sink.push(Number(now - Buffer.from(data.buffer, data.byteOffset, 8).readBigUInt64LE(0)) / 1000);
    })
  : null;

async function collect(count, start) {
  sink = [];
  await start();
  const deadline = Date.now() + 5000;
  while (sink.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return sink;
}

const fmt = (sorted) =>
  `p50 ${percentile(sorted, 50).toFixed(1)} us, p99 ${percentile(sorted, 99).toFixed(1)} us, max ${sorted[sorted.length - 1].toFixed(1)} us (${sorted.length})`;
const ratio = (a, b, p) => (percentile(a, p) / percentile(b, p)).toFixed(2);

console.log(
  `FTB publish -> JS callback latency (crftb client + crftb agent, 3 processes, loopback${rt ? '; agents and subscriber SCHED_FIFO' : ''}; ${rounds} interleaved rounds)`,
);
console.log(`  ${before} before`);
for (const { rate, count } of runs) {
  const per = Math.ceil(count / rounds);
  const got = { crftb: [], floor: [], nats: [] };
  let bursts = 0;
  for (let r = 0; r < rounds; r++) {
    got.crftb.push(
      ...(await collect(per, async () => {
        bursts += (await runPublisher(agent.port, rate, per)).bursts;
      })),
    );
    got.floor.push(...(await measureLoopbackHop(rate, per)));
    if (nats) got.nats.push(...(await collect(per, () => runNatsPublisher(nats.port, rate, per))));
  }
  for (const k of Object.keys(got)) got[k].sort((a, b) => a - b);
  console.log(`  ${String(rate).padStart(4)} events/s (${load()})`);
  console.log(
    `       crftb JS listener:         ${fmt(got.crftb)}; ${bursts} published within 20 us of the previous (catching up)`,
  );
  console.log(
    `       floor, one TCP hop:        ${fmt(got.floor)}   crftb/floor p50 ${ratio(got.crftb, got.floor, 50)}x, p99 ${ratio(got.crftb, got.floor, 99)}x`,
  );
  if (nats)
    console.log(
      `       NATS (nats-server + nats): ${fmt(got.nats)}   crftb/NATS p50 ${ratio(got.crftb, got.nats, 50)}x, p99 ${ratio(got.crftb, got.nats, 99)}x`,
    );
  else console.log('       NATS: nats-server not installed, not compared');
}
console.log(`  ${load()} after`);
await natsSub?.close();
await stop();
