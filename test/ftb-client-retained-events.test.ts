// Received events are views of the record blocks the addon hands to JavaScript without a copy
// (native/ftb/js_record_blocks.h); a block is reused only once JS has let go of it. An event a
// listener keeps must therefore read the same forever, however many floods and garbage
// collections pass after it. A child (--expose-gc) with a real agent and a publisher and a
// subscriber client on loopback keeps 1,000 events, then runs floods of 5,000 and collects
// garbage between them, and reads the kept events again. Isolated events share a block (each
// batch is a slice of it): keeping every other one of them, so that the slices around each kept
// one are collected, must not free or reuse the block under the kept ones either.
import t from 'tap';
import { dist, runNode } from './helpers/node-child';

const script = `
  const { FtbClient, startAgent } = require(${JSON.stringify(dist)});
  (async () => {
    const agent = await startAgent({ port: 0, host: '127.0.0.1', standalone: true });
    const options = { agentHost: '127.0.0.1', agentPort: agent.address.port };
    const pub = await FtbClient.connect({ eventSpace: 'CRFTB.TEST.KEEP', clientName: 'p' }, options);
    pub.declare([{ name: 'EV', severity: 'info' }]);
    const sub = await FtbClient.connect({ eventSpace: 'CRFTB.TEST.KEEPSUB', clientName: 's', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' }, options);
    const subscription = sub.subscribe('event_space=CRFTB.TEST.KEEP');
    const kept = [];
    let received = 0;
    subscription.on('event', (e) => {
      received++;
      if (kept.length < 1000) kept.push(e);
    });
    const payload = Buffer.alloc(8);
    async function flood(from, count) {
      const until = received + count;
      for (let i = from; i < from + count; i++) {
        payload.writeUInt32LE(i, 0);
        payload.writeUInt32LE(i ^ 0x5a5a5a5a, 4);
        pub.publish('EV', { payload });
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
      }
      while (received < until) await new Promise((r) => setTimeout(r, 5));
    }
    const isolated = !!process.env.ISOLATED;
    if (isolated) {
      // One event per batch (each waited for before the next), every other one kept.
      subscription.removeAllListeners('event');
      subscription.on('event', (e) => {
        received++;
        if (kept.length < 600 && e.payload.readUInt32LE(0) % 2 === 0) kept.push(e);
      });
      for (let n = 0; n < 1200; n++) {
        payload.writeUInt32LE(n, 0);
        payload.writeUInt32LE((n / 2) ^ 0x5a5a5a5a, 4);
        pub.publish('EV', { payload });
        while (received < n + 1) await new Promise((r) => setImmediate(r));
        if (n % 200 === 199) { globalThis.gc(); await new Promise((r) => setImmediate(r)); }
      }
    } else await flood(0, 1000);
    const before = kept.map((e) => e.payload.toString('hex'));
    for (let round = 1; round <= 6; round++) {
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
      await flood(round * 100000, 5000);
    }
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
    let same = 0, right = 0;
    kept.forEach((e, i) => {
      if (e.payload.toString('hex') === before[i]) same++;
      const n = isolated ? 2 * i : i;
      if (e.payload.readUInt32LE(0) === n && e.payload.readUInt32LE(4) === (i ^ 0x5a5a5a5a)) right++;
    });
    console.log(JSON.stringify({ kept: kept.length, same, right, received }));
    await sub.close();
    await pub.close();
    await agent.close();
  })().catch((e) => { console.error(e); process.exit(1); });`;

const cases = [
  {
    what: 'events a listener keeps read the same after floods and garbage collections',
    env: '',
    kept: 1000,
    received: 31000,
  },
  {
    what: 'isolated events, every other one kept: the kept ones read the same after floods and GCs',
    env: "process.env.ISOLATED = '1';",
    kept: 600,
    received: 31200,
  },
];
for (const c of cases) {
  t.test(c.what, async (t) => {
    const outcome = await runNode(`${c.env}${script}`, 120000, ['--expose-gc']);
    t.equal(outcome.code, 0, `the child ran to the end ${outcome.stderr}`);
    const result = JSON.parse(outcome.stdout.split('\n').pop()!);
    t.equal(result.kept, c.kept, `it kept ${c.kept} events`);
    t.equal(result.right, c.kept, 'each kept event still carries the payload it was published with');
    t.equal(result.same, c.kept, 'and reads exactly as it did when first received');
    t.equal(result.received, c.received, 'every event arrived');
  });
}
