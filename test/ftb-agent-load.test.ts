// Load on one real agent process: 1,000 subscribers (each its own TCP connection) and 10
// publishers for 60 s. Every subscriber receives each publisher's events in publishing order;
// whatever it misses is counted by the agent as dropped (received + dropped = published × 1,000,
// exactly); the agent's memory stays bounded (no growth from the first third of the run to the
// last). Long: CRFTB_LONG=1 only (npm run test:long).
import t from 'tap';
import fs from 'node:fs';
import { ftbRules } from '../lib/ftb/native';
import { CrftbProcess } from './helpers/crftb-process';
import { agentArgs } from './helpers/ftb-tree';
import { RawClient } from './helpers/ftb-raw-client';
import { MESSAGE_SIZE } from './helpers/ftb-raw-peer';

const long = process.env.CRFTB_LONG === '1';
const SUBSCRIBERS = 1000;
const PUBLISHERS = 10;
const SECONDS = 60;
const PER_SECOND = 4; // per publisher: 40 events/s in all, 40,000 deliveries/s

// Byte offsets of the fields this test reads, found through the one codec rather than assumed.
function offsetOf(field: string, value: number, width: 2 | 4): number {
  const bytes = ftbRules.encode('message', { [field]: value });
  const probe = Buffer.alloc(width);
  if (width === 2) probe.writeUInt16LE(value);
  else probe.writeInt32LE(value);
  return bytes.indexOf(probe);
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

t.test(
  `${SUBSCRIBERS} subscribers, ${PUBLISHERS} publishers, ${SECONDS} s on one agent`,
  { skip: long ? false : 'long test: CRFTB_LONG=1 (npm run test:long)' },
  async (t) => {
    const SEQ = offsetOf('event.seqnum', 0xbeef, 2);
    const PID = offsetOf('src.location.pid', 0x7a7b7c7d, 4);
    const TYPE = offsetOf('msg_type', 0x01020304, 4);
    t.ok(SEQ > 0 && PID > 0 && TYPE === 0, `layout: seqnum at ${SEQ}, source pid at ${PID}`);

    const agent = CrftbProcess.start(agentArgs({ statsMs: 1000 }));
    t.teardown(() => agent.stop('SIGKILL'));
    const { port } = await agent.listening();
    const agentPid = agent.child.pid!;

    const space = 'CRFTB.LOAD.SUB';
    const subscribers: RawClient[] = [];
    let received = 0;
    let outOfOrder = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = await RawClient.connect(port, 200000 + i);
      client.register({ eventSpace: space, clientName: `s${i}` });
      client.subscribe({ eventSpace: space, clientName: `s${i}` }, 'event_space=CRFTB.LOAD.PUB');
      // From here on this test reads the socket itself: count NOTIFYs, check order per publisher.
      client.peer.socket.removeAllListeners('data');
      const last = new Map<number, number>();
      let pending: Buffer = Buffer.alloc(0);
      client.peer.socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        let at = 0;
        for (; pending.length - at >= MESSAGE_SIZE; at += MESSAGE_SIZE) {
          if (pending.readInt32LE(at + TYPE) !== 1) continue;
          received++;
          const from = pending.readInt32LE(at + PID);
          const seq = pending.readUInt16LE(at + SEQ);
          if (seq <= (last.get(from) ?? 0)) outOfOrder++;
          last.set(from, seq);
        }
        pending = pending.subarray(at);
      });
      subscribers.push(client);
    }
    const publishers: RawClient[] = [];
    for (let i = 0; i < PUBLISHERS; i++) {
      const client = await RawClient.connect(port, 300000 + i);
      client.register({ eventSpace: 'CRFTB.LOAD.PUB', clientName: `p${i}` });
      publishers.push(client);
    }
    await agent.waitFor(
      (l) => l.event === 'stats' && l.stats.subscriptions >= 1 && l.stats.clients >= SUBSCRIBERS + PUBLISHERS,
      60000,
    );

    const samples: number[] = [];
    let published = 0;
    const started = Date.now();
    while (Date.now() - started < SECONDS * 1000) {
      for (let i = 0; i < PUBLISHERS; i++) {
        publishers[i].publish({ eventSpace: 'CRFTB.LOAD.PUB', clientName: `p${i}` }, 'LOAD_EVENT', 'INFO', 1);
        published++;
      }
      if (published % (PUBLISHERS * PER_SECOND) === 0) samples.push(rssKiB(agentPid));
      await new Promise((r) => setTimeout(r, 1000 / PER_SECOND));
    }
    const expected = published * SUBSCRIBERS;
    // Everything published is either delivered or counted as dropped by the agent.
    let dropped = 0;
    const settled = Date.now();
    while (Date.now() - settled < 60000) {
      const stats = agent.lines.filter((l) => l.event === 'stats').pop()!.stats;
      dropped = stats.eventsDropped;
      if (received + dropped >= expected) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const closed = await (async () => {
      agent.signal('SIGTERM');
      return agent.waitFor((l) => l.event === 'closed', 20000).catch(() => null);
    })();
    if (closed) dropped = closed.stats.eventsDropped;
    t.equal(
      received + dropped,
      expected,
      `${published} events × ${SUBSCRIBERS}: ${received} delivered + ${dropped} dropped (counted by the agent)`,
    );
    t.equal(outOfOrder, 0, "every subscriber saw each publisher's events in order");
    const third = Math.floor(samples.length / 3);
    const early = Math.max(...samples.slice(0, third));
    const late = Math.max(...samples.slice(-third));
    t.ok(late <= early * 1.2 + 16384, `agent RSS bounded: first third peak ${early} KiB, last third peak ${late} KiB`);
    t.comment(`agent RSS samples (KiB): ${samples.join(' ')}`);
    for (const c of [...subscribers, ...publishers]) c.close();
  },
);
