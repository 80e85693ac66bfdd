// A burst of publishes made by JavaScript waits in the client's backlog until that run of
// JavaScript ends, and is then written by the JS thread itself in one write (no wake-up of the
// client's I/O thread per burst; lib/ftb/client.ts, Connection::Send's caller_flushes). What could
// be lost that way, tried with a real publisher process and an agent stand-in that records every
// message: a burst followed by process.exit() in the same run, and a run that never ends (a long
// synchronous loop), whose backlog must leave while it still runs.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { CrftbProcess } from './helpers/crftb-process';
import { startRecordingAgent, type RecordingAgent } from './helpers/ftb-recording-agent';
import { tempDir } from './helpers/detached';
import { waitFor } from './helpers/wait';

const notifies = (peer: RecordingAgent) => peer.messages.filter((m) => m['event.event_name'] === 'EV');

function inOrder(peer: RecordingAgent): boolean {
  return notifies(peer).every((m, i) => (m['event.payload'] as Buffer).readUInt32LE(0) === i);
}

async function publisher(t: Test, args: string[]) {
  const child = CrftbProcess.fixture('ftb-burst-publisher', args);
  t.teardown(() => child.signal('SIGKILL'));
  await child.waitFor((l) => l.event === 'text' && l.text === 'connected');
  return child;
}

const running = (child: CrftbProcess) => child.child.exitCode === null && child.child.signalCode === null;

t.test('a burst published just before process.exit() in the same run of JavaScript all goes out', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const child = await publisher(t, ['exit', String(peer.port), '40']);
  child.child.stdin!.end();
  t.equal((await child.exit()).code, 0, 'the publisher exited by process.exit(0)');
  await waitFor('the 40 events', () => notifies(peer).length === 40);
  t.ok(inOrder(peer), 'all 40, in order');
});

t.test('a synchronous loop that never yields: its backlog is written while it runs', async (t) => {
  const peer = await startRecordingAgent();
  t.teardown(peer.close);
  const go = path.join(tempDir('ftb-flush'), 'go');
  // 2,000 messages are 2.6 MB: far past the backlog a caller writes at once (64 KiB).
  const child = await publisher(t, ['spin', String(peer.port), '2000', go]);
  child.child.stdin!.end();
  await waitFor('the burst to reach the agent while the publisher still spins', () => notifies(peer).length >= 1900);
  t.ok(running(child), 'the publisher had not yielded yet');
  fs.writeFileSync(go, '');
  t.equal((await child.exit()).code, 0, 'and then exited');
  t.ok(inOrder(peer), 'what arrived is in order');
});
