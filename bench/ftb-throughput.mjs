// Sustained events/s through the project's agent: an unthrottled publisher process, a callback
// subscriber (this process, default options); perf.md's method: rate = (received - 1) / (last -
// first receive), counted in the JS listener. "None lost" means received == published: flow
// control (client and agent) holds the publisher back, whose publish() then throws
// FTB_ERR_NETWORK_GENERAL and is retried (counted as back-pressure retries).
// Run: npm run build:ts && node bench/ftb-throughput.mjs [events]
import { crftb, load, runPublisher, startAgentProcess } from './ftb-bench-common.mjs';

const count = Number(process.argv[2] ?? 200000);
const before = load();
const agent = await startAgentProcess();
const sub = await crftb.FtbClient.connect(
  { eventSpace: 'BENCH.PERF.SUB', clientName: 'bsubc', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
  { agentHost: '127.0.0.1', agentPort: agent.port },
);
const subscription = sub.subscribe('event_space=BENCH.PERF.PUB,event_name=BENCH_EV');
let received = 0;
let first = 0n;
let last = 0n;
let outOfOrder = 0;
let expected = 0;
subscription.on('event', (e) => {
  last = process.hrtime.bigint();
  if (received === 0) first = last;
  received++;
  const i = e.payload.readUInt32LE(8);
  if (i !== expected) outOfOrder++;
  expected = i + 1;
});

const pub = await runPublisher(agent.port, 0, count);
const deadline = Date.now() + 10000;
while (received < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
const seconds = Number(last - first) / 1e9;
const stats = sub.stats();
console.log('FTB sustained throughput (crftb client + crftb agent, 3 processes, loopback)');
console.log(`  ${before} before`);
console.log(`  published ${pub.published} in ${pub.seconds.toFixed(2)} s (${Math.round(pub.rate)} events/s, ${pub.retries} back-pressure retries)`);
console.log(`  received ${received}/${count} (${count - received} lost, ${outOfOrder} gaps), ${Math.round((received - 1) / seconds)} events/s at the subscriber`);
console.log(`  subscriber stats: callbackDropped ${stats.callbackDropped}, discarded ${stats.discarded}`);
await new Promise((r) => setTimeout(r, 300));
const agentStats = agent.stats();
if (agentStats) console.log(`  agent stats: ${agentStats.eventsReceived} received, ${agentStats.eventsRouted} routed, ${agentStats.eventsDropped} dropped (its per-client queue was full), ${agentStats.backpressurePauses} back-pressure pauses`);
console.log(`  ${load()} after`);
await sub.close();
await agent.stop();
