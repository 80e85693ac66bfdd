// BLCR's checkpoint/restart events (FTB.checkpoint_sw.blcr) as a real subscriber sees them: an
// in-process agent on loopback with one subscriber to everything, and the check that each request
// a process made shows as one BEGIN followed by exactly one END or ERROR carrying its handle
// (README "Events crftb publishes"), with nothing after the last.
import type { Test } from 'tap';
import { FtbClient, FtbEventHandle, startAgent, type Agent, type FtbReceivedEvent } from '../../lib/index';
import { ftbFence } from './ftb-fence';
import { waitFor } from './wait';

const BLCR = 'FTB.CHECKPOINT_SW.BLCR';

export interface BlcrWatch {
  agent: Agent;
  ftb: { agentHost: string; agentPort: number };
  /** Everything the subscriber received so far, in arrival order. */
  seen: FtbReceivedEvent[];
  /** BLCR events published by `pid`, from index `from` of `seen` on. */
  events(pid: number, from?: number): FtbReceivedEvent[];
  /**
   * Waits until everything this process published has reached the subscriber, and everything a
   * process that has exited published too (the agent has read up to its connection's end).
   */
  settle(): Promise<void>;
  /** Once settled, the index of `seen` from which events are new: what events(pid, from) takes. */
  mark(): Promise<number>;
  close(): Promise<void>;
}

export async function watchBlcrEvents(): Promise<BlcrWatch> {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  const ftb = { agentHost: '127.0.0.1', agentPort: agent.address.port };
  const watcher = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.WATCH', clientName: 'watcher', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    ftb,
  );
  const seen: FtbReceivedEvent[] = [];
  watcher.subscribe('').on('event', (e) => seen.push(e));
  // This process shares one connection among its clients and its publisher; any other is another
  // process's, open until the agent has read all it sent.
  const own = agent.stats().connections;
  const settle = async () => {
    await waitFor('the agent to have read every other process to its end', () => agent.stats().connections <= own);
    await ftbFence(ftb);
  };
  return {
    agent,
    ftb,
    seen,
    events: (pid, from = 0) => seen.slice(from).filter((e) => e.space.toUpperCase() === BLCR && e.sourcePid === pid),
    settle,
    mark: async () => {
      await settle();
      return seen.length;
    },
    close: async () => {
      await watcher.close();
      await agent.close();
    },
  };
}

/** A watch for the tests of the file whose top-level test is `t`: started before them, closed after. */
export function watchForFile(t: Test): () => BlcrWatch {
  let watch: BlcrWatch | undefined;
  t.before(async () => {
    watch = await watchBlcrEvents();
  });
  t.teardown(async () => {
    await watch?.close();
  });
  return () => watch!;
}

/** What ends a request: END, or ERROR with this errno. */
export type Outcome = 'END' | number;

/**
 * `events` (one process's, in arrival order) are exactly the requests `outcomes` names, in that
 * order: each a BEGIN, then one END or ERROR whose payload starts with that BEGIN's handle and no
 * other event for it; no END or ERROR without its BEGIN; nothing after the last one.
 */
export function checkRequests(t: Test, prefix: 'CHKPT' | 'RSTRT', events: FtbReceivedEvent[], outcomes: Outcome[]) {
  const expected = outcomes.flatMap((o) => [`${prefix}_BEGIN`, o === 'END' ? `${prefix}_END` : `${prefix}_ERROR`]);
  t.same(
    events.map((e) => e.name),
    expected,
    `${outcomes.length} request(s): BEGIN then ${outcomes.map((o) => (o === 'END' ? 'END' : `ERROR(${o})`)).join(', ')}`,
  );
  const begins = events.filter((e) => e.name.endsWith('_BEGIN'));
  const finals = events.filter((e) => !e.name.endsWith('_BEGIN'));
  const handleOf = (e: FtbReceivedEvent) => new FtbEventHandle(e.payload.subarray(0, 360));
  for (const [i, begin] of begins.entries()) {
    const answers = finals.filter((f) => begin.handle !== null && handleOf(f).equals(begin.handle));
    t.equal(answers.length, 1, `BEGIN #${i + 1} (seqnum ${begin.seqnum}) has exactly one END or ERROR`);
    if (answers.length !== 1) continue;
    const answer = answers[0];
    t.ok(events.indexOf(answer) > events.indexOf(begin), `#${i + 1}: its ${answer.name} comes after it`);
    const outcome = outcomes[i];
    if (outcome === 'END') {
      t.equal(answer.name, `${prefix}_END`, `#${i + 1} ends with END`);
      t.same(answer.payload.subarray(360), Buffer.alloc(8), `#${i + 1}: the rest of the END payload is zero`);
    } else {
      t.equal(answer.name, `${prefix}_ERROR`, `#${i + 1} ends with ERROR`);
      t.equal(answer.payload.readInt32LE(360), outcome, `#${i + 1}: ERROR carries errno ${outcome}`);
    }
  }
  t.equal(
    finals.filter((f) => !begins.some((b) => b.handle !== null && handleOf(f).equals(b.handle))).length,
    0,
    'no END or ERROR without its BEGIN',
  );
}
