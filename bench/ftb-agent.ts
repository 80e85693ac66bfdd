// Events/s through one crftb agent and across a two-agent tree, plus latency at fixed rates.
// Agents (and the bootstrap server) are `crftb` processes on loopback; the publisher and the
// subscriber are raw FTB clients in this process, so the figures are the agent's, not a client
// library's. Run after `npm run compile`: npm run bench:agent  (BENCH_EVENTS=n to change the
// count; prints figures, asserts nothing; the machine's load average is printed beside them).
import os from 'node:os';
import type { CrftbProcess } from '../test/helpers/crftb-process';
import { RawClient } from '../test/helpers/ftb-raw-client';
import { startAgentTree } from '../test/helpers/ftb-tree';
import { MESSAGE_SIZE } from '../test/helpers/ftb-raw-peer';

const N = Number(process.env.BENCH_EVENTS ?? 200000);
const PUB = { eventSpace: 'BENCH.PERF.PUB', clientName: 'bpub' };
const SUB = { eventSpace: 'BENCH.PERF.SUB', clientName: 'bsub' };

async function tree(agents: number, queueKiB?: number) {
  const procs: CrftbProcess[] = [];
  const started = await startAgentTree({
    agents,
    statsMs: 100,
    agentExtra: queueKiB ? ['--client-queue-kib', String(queueKiB), '--agent-queue-kib', String(queueKiB)] : [],
    own: (proc) => procs.push(proc),
  });
  return {
    ports: started.agents.map((a) => a.port),
    agents: started.agents.map((a) => a.proc),
    stop: () => Promise.all(procs.map((p) => p.stop('SIGTERM'))),
  };
}

const SEQ = 964,
  PAYLOAD = 967;

async function setup(pubPort: number, subPort: number, subscriberAgent: CrftbProcess, publisherAgent: CrftbProcess) {
  const sub = await RawClient.connect(subPort, 90001);
  sub.register(SUB);
  sub.subscribe(SUB, 'event_space=BENCH.PERF.PUB,event_name=BENCH_EV');
  await publisherAgent.waitFor(
    (l) => l.event === 'stats' && l.stats.subscriptions >= 1,
    10000,
    publisherAgent.lines.length,
  );
  void subscriberAgent;
  const pub = await RawClient.connect(pubPort, 90002);
  pub.register(PUB);
  // One NOTIFY frame, re-used with its seqnum and timestamp patched per event.
  return { pub, sub, frame: pub.notifyFrame(PUB, 'BENCH_EV') };
}

/** Publishes n events as fast as the publisher's socket drains; the subscriber counts arrivals. */
async function throughput(pub: RawClient, sub: RawClient, frame: Buffer, n: number) {
  let received = 0;
  let first = 0,
    last = 0;
  let pending: Buffer = Buffer.alloc(0);
  const socket = sub.peer.socket;
  sub.peer.stopQueueing();
  const onData = (chunk: Buffer) => {
    const now = performance.now();
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const whole = Math.floor(pending.length / MESSAGE_SIZE);
    if (whole && !first) first = now;
    received += whole;
    pending = pending.subarray(whole * MESSAGE_SIZE);
    last = now;
  };
  socket.on('data', onData);
  const started = performance.now();
  const batch = 256;
  for (let sent = 0; sent < n; sent += batch) {
    const k = Math.min(batch, n - sent);
    const chunk = Buffer.alloc(k * MESSAGE_SIZE);
    for (let i = 0; i < k; i++) {
      frame.copy(chunk, i * MESSAGE_SIZE);
      chunk.writeUInt16LE((sent + i + 1) & 0xffff, i * MESSAGE_SIZE + SEQ);
    }
    if (!pub.peer.socket.write(chunk)) await new Promise((r) => pub.peer.socket.once('drain', r));
  }
  const publishMs = performance.now() - started;
  // Done when everything arrived, or when nothing more arrives for a second (dropped copies).
  for (let before = -1; received < n && received !== before; ) {
    before = received;
    await new Promise((r) => setTimeout(r, 1000));
  }
  socket.off('data', onData);
  return { received, rate: (received - 1) / ((last - first) / 1000), publishRate: n / (publishMs / 1000) };
}

/** Latency at `rate` events/s: payload bytes 0-7 carry the send time (same clock, same process). */
async function latency(pub: RawClient, sub: RawClient, frame: Buffer, rate: number, n: number) {
  const samples: number[] = [];
  const socket = sub.peer.socket;
  let pending: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    const now = process.hrtime.bigint();
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= MESSAGE_SIZE) {
      samples.push(Number(now - pending.readBigUInt64LE(PAYLOAD)) / 1000);
      pending = pending.subarray(MESSAGE_SIZE);
    }
  };
  socket.on('data', onData);
  // Paced without busy-waiting (the receiving side shares this event loop): every millisecond
  // tick sends the events that are due, each stamped just before its write.
  const t0 = performance.now();
  let i = 0;
  while (i < n) {
    const due = Math.min(n, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    const batch: Buffer[] = [];
    for (; i < due; i++) {
      const one = Buffer.from(frame);
      one.writeUInt16LE((i + 1) & 0xffff, SEQ);
      one.writeBigUInt64LE(process.hrtime.bigint(), PAYLOAD);
      batch.push(one);
    }
    if (batch.length) pub.peer.socket.write(batch.length === 1 ? batch[0] : Buffer.concat(batch));
    await new Promise((r) => setTimeout(r, 1));
  }
  const deadline = Date.now() + 5000;
  while (samples.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  socket.off('data', onData);
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))];
  return { got: samples.length, p50: pct(50), p99: pct(99) };
}

async function scenario(name: string, agents: number) {
  // Queues large enough that nothing is dropped: the rate the tree sustains.
  let t = await tree(agents, 1 << 20);
  try {
    const { pub, sub, frame } = await setup(t.ports[0], t.ports[agents - 1], t.agents[agents - 1], t.agents[0]);
    const r = await throughput(pub, sub, frame, N);
    console.log(
      `${name}: ${N} events, no drops allowed: ${Math.round(r.rate).toLocaleString('en')} events/s received (${r.received} delivered; publisher wrote ${Math.round(r.publishRate).toLocaleString('en')}/s)`,
    );
    for (const rate of [100, 1000, 10000]) {
      const l = await latency(pub, sub, frame, rate, Math.min(rate * 2, 5000));
      console.log(
        `${name}: latency at ${rate}/s: p50 ${l.p50.toFixed(0)} µs, p99 ${l.p99.toFixed(0)} µs (${l.got} events)`,
      );
    }
    pub.close();
    sub.close();
  } finally {
    await t.stop();
  }
  // Default queues (4 MiB per client): a flood faster than the subscriber reads is dropped, not queued forever.
  t = await tree(agents);
  try {
    const subAgent = t.agents[agents - 1];
    const { pub, sub, frame } = await setup(t.ports[0], t.ports[agents - 1], subAgent, t.agents[0]);
    const r = await throughput(pub, sub, frame, N);
    const from = subAgent.lines.length;
    const stats = (await subAgent.waitFor((l) => l.event === 'stats', 5000, from)).stats;
    console.log(
      `${name}: ${N} events, default queues: ${Math.round(r.rate).toLocaleString('en')} events/s received, ${r.received} delivered, ${stats.eventsDropped} dropped by the subscriber's agent`,
    );
    pub.close();
    sub.close();
  } finally {
    await t.stop();
  }
}

async function main() {
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')} on ${os.cpus().length} CPUs`,
  );
  await scenario('one agent', 1);
  await scenario('two-agent tree (publisher on the root, subscriber on the child)', 2);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
