// FTB absent or down never fails a checkpoint or a restart: the events are dropped and counted
// (publisherStats), and a failed connect is remembered so back-to-back checkpoints do not each
// try again. Runs in its own process: the publisher shares the process's one FTB connection.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkpoint, publisherStats, restart, startAgent } from '../lib/index';
import { FtbClient } from '../lib/ftb/client';
import { adopt, killStarted, startCounter, tempDir, waitFor, waitGone } from './helpers/detached';

t.teardown(killStarted);

// A TCP server that accepts and then says nothing: an "agent" that never completes FTB's handshake.
async function silentServer(): Promise<{ port: number; accepted: () => number; close: () => void }> {
  let accepted = 0;
  const held: net.Socket[] = [];
  const server = net.createServer((socket) => {
    accepted += 1;
    held.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => {
      for (const s of held) s.destroy();
      server.close();
    },
  };
}

async function counterChild(prefix: string): Promise<{ dir: string; pid: number; exited: Promise<void> }> {
  const dir = tempDir(prefix);
  const child = await startCounter(dir);
  return { dir, pid: child.pid, exited: child.exited };
}

t.test(
  'an agent that never answers: checkpoints and restart succeed, events are dropped, the connect is tried once',
  async (t) => {
    const silent = await silentServer();
    t.teardown(silent.close);
    // A failed connect is remembered for retryAfterMs: long here, so that however slow the machine
    // (or an ASan build), every later request falls inside it.
    const ftb = { agentHost: '127.0.0.1', agentPort: silent.port, connectTimeoutMs: 300, retryAfterMs: 600000 };
    const { dir, pid, exited } = await counterChild('cr-ftb-down');
    const images = path.join(dir, 'images');

    const before = publisherStats();
    const first = await checkpoint({ target: pid, dir: images, ftb });
    t.equal(first.restarted, false, 'the checkpoint succeeded');
    t.ok(fs.existsSync(path.join(images, 'inventory.img')), 'and wrote its images');
    const afterFirst = publisherStats();
    t.equal(
      afterFirst.dropped - before.dropped,
      2,
      'its BEGIN was dropped and its END withheld (no END for an unpublished BEGIN), both counted',
    );
    t.equal(afterFirst.published, before.published, 'nothing was published');
    t.equal(silent.accepted(), 1, 'one connect was attempted');

    await checkpoint({ target: pid, dir: images, ftb });
    t.equal(publisherStats().dropped - afterFirst.dropped, 2, 'the next checkpoint dropped its BEGIN and END too');
    t.equal(silent.accepted(), 1, 'without trying the agent again (the failed connect is remembered)');

    process.kill(pid, 'SIGKILL');
    await exited;
    await waitGone(pid);
    const restored = await restart({ dir: images, ftb });
    adopt(restored);
    t.equal(restored, pid, 'restart() succeeded too');
    t.equal(
      publisherStats().dropped - afterFirst.dropped,
      4,
      'and its RSTRT_BEGIN and RSTRT_END were counted as dropped',
    );
    t.equal(silent.accepted(), 1, 'still without trying the agent again');

    await checkpoint({ target: restored, dir: images, ftb: { ...ftb, retryAfterMs: 0 } });
    t.equal(silent.accepted(), 2, 'retryAfterMs: 0 makes the next request try the agent again');
    process.kill(restored, 'SIGKILL');
  },
);

t.test('an agent that goes away: events published while it is up, dropped after', async (t) => {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  const ftb = { agentHost: '127.0.0.1', agentPort: agent.address.port };
  const { dir, pid } = await counterChild('cr-ftb-gone');
  const images = path.join(dir, 'images');

  const before = publisherStats();
  await checkpoint({ target: pid, dir: images, ftb });
  const up = publisherStats();
  t.equal(up.published - before.published, 2, 'BEGIN and END published while the agent runs');
  t.equal(up.dropped, before.dropped, 'nothing dropped');

  // The publisher's connection is the process's one FTB connection (lib/cr/checkpoint.ts FtbOption).
  t.ok(FtbClient.connectionStats().connected, 'the publisher holds the connection to the agent');
  await agent.close();
  await waitFor("the connection's I/O thread to notice the loss", () => !FtbClient.connectionStats().connected);
  const result = await checkpoint({ target: pid, dir: images, ftb });
  t.equal(result.restarted, false, 'the checkpoint still succeeds');
  t.equal(publisherStats().dropped - up.dropped, 2, 'its BEGIN was dropped and its END withheld, both counted');
  t.equal(publisherStats().published, up.published, 'nothing more was published');
  process.kill(pid, 'SIGKILL');
});
