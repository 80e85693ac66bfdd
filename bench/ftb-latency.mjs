// Publish → callback latency across processes through the project's agent (3 processes: agent,
// publisher, this subscriber), at 20 and 1,000 events/s, the method of perf.md: payload bytes
// 0-7 = CLOCK_MONOTONIC ns taken just before publish, latency read on callback entry (in JS).
// Run: npm run build:ts && node bench/ftb-latency.mjs [events-at-20/s] [events-at-1000/s]
import { crftb, percentile, realFtb, runPublisher, startAgentProcess } from './ftb-bench-common.mjs';

const runs = [
  { rate: 20, count: Number(process.argv[2] ?? 200) },
  { rate: 1000, count: Number(process.argv[3] ?? 2000) },
];

const agent = await startAgentProcess();
const sub = await crftb.FtbClient.connect({ eventSpace: 'BENCH.PERF.SUB', clientName: 'bsubc', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' }, { agentHost: '127.0.0.1', agentPort: agent.port });
const subscription = sub.subscribe('event_space=BENCH.PERF.PUB,event_name=BENCH_EV');
let latencies = [];
subscription.on('event', (e) => {
  const now = process.hrtime.bigint();
  latencies.push(Number(now - e.payload.readBigUInt64LE(0)) / 1000);
});

console.log('FTB publish -> callback latency (crftb client + crftb agent, 3 processes, loopback)');
for (const { rate, count } of runs) {
  latencies = [];
  await runPublisher(agent.port, rate, count);
  const deadline = Date.now() + 5000;
  while (latencies.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const sorted = [...latencies].sort((a, b) => a - b);
  const ftb = realFtb.latency[rate];
  console.log(
    `  ${String(rate).padStart(4)} events/s, ${latencies.length}/${count} received: ` +
      `p50 ${percentile(sorted, 50).toFixed(1)} us, p99 ${percentile(sorted, 99).toFixed(1)} us, max ${sorted[sorted.length - 1].toFixed(1)} us` +
      `   | real FTB 0.6.2: p50 ${ftb.p50}, p99 ${ftb.p99}`,
  );
}
console.log(`  (${realFtb.note})`);
console.log(`  load average while measuring: ${(await import('node:os')).loadavg().map((x) => x.toFixed(1)).join(' ')} on ${(await import('node:os')).cpus().length} cores`);
await sub.close();
await agent.stop();
