// Publish -> callback latency across processes through the project's agent (3 processes: agent,
// publisher, this subscriber), at 20 and 1,000 events/s, the method of perf.md: payload bytes
// 0-7 = CLOCK_MONOTONIC ns taken just before FtbClient.publish() (after the publisher's pacing,
// so its timer jitter is not counted), latency read on entry to the JS 'event' listener: what a
// user of the JS API sees, TSFN hand-over to the event loop included.
// Run: npm run build:ts && node bench/ftb-latency.mjs [events-at-20/s] [events-at-1000/s] [--rt]
// --rt: the agent and the subscriber run under SCHED_FIFO (chrt -f 10; root), which shows the
// code's own cost on a machine other programs keep busy. The publisher stays SCHED_OTHER.
import { crftb, load, measureLoopbackHop, percentile, realtime, runPublisher, startAgentProcess } from './ftb-bench-common.mjs';

const args = process.argv.slice(2).filter((a) => a !== '--rt');
const rt = process.argv.includes('--rt');
const runs = [
  { rate: 20, count: Number(args[0] ?? 200) },
  { rate: 1000, count: Number(args[1] ?? 2000) },
];

const before = load();
const agent = await startAgentProcess();
const sub = await crftb.FtbClient.connect({ eventSpace: 'BENCH.PERF.SUB', clientName: 'bsubc', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' }, { agentHost: '127.0.0.1', agentPort: agent.port });
if (rt) {
  realtime(agent.pid);
  realtime(process.pid);  // after connect: the client's I/O thread exists now
}
const subscription = sub.subscribe('event_space=BENCH.PERF.PUB,event_name=BENCH_EV');
let latencies = [];
subscription.on('event', (e) => {
  const now = process.hrtime.bigint();
  latencies.push(Number(now - e.payload.readBigUInt64LE(0)) / 1000);
});

console.log(`FTB publish -> JS callback latency (crftb client + crftb agent, 3 processes, loopback${rt ? '; agent and subscriber SCHED_FIFO' : ''})`);
console.log(`  ${before} before`);
for (const { rate, count } of runs) {
  latencies = [];
  await runPublisher(agent.port, rate, count);
  const deadline = Date.now() + 5000;
  while (latencies.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(
    `  ${String(rate).padStart(4)} events/s, ${latencies.length}/${count} received: ` +
      `p50 ${percentile(sorted, 50).toFixed(1)} us, p99 ${percentile(sorted, 99).toFixed(1)} us, max ${sorted[sorted.length - 1].toFixed(1)} us`,
  );
  // Same pacing, same clock, one plain TCP hop between two Node processes: what waking a process
  // costs here at this rate. The FTB path has three such hops (agent, client I/O thread, JS).
  const floor = await measureLoopbackHop(rate, count);
  console.log(`       floor: one plain loopback TCP hop Node -> Node: p50 ${percentile(floor, 50).toFixed(1)} us, p99 ${percentile(floor, 99).toFixed(1)} us`);
}
console.log(`  ${load()} after`);
await sub.close();
await agent.stop();
