// A subscription made while the agent is away keeps the process alive once it has a listener,
// like any other (issue 13: the catch branch of subscribe() used to skip the listener hooks, so
// such a process exited before the agent came back). A real client process and a real agent; the
// agent "goes away" and comes back as seen by the client through a TCP relay on a fixed port.
import t from 'tap';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { startAgent } from '../lib/ftb/agent';
import { FtbClient } from '../lib/ftb/client';
import { relay } from './helpers/relay';
import { waitFor } from './helpers/wait';

t.test('subscribe while the agent is down, then listen: the process waits for the event', async (t) => {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  t.teardown(() => agent.close());
  const first = await relay(0, agent.address.port);
  const port = first.port;
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'fixtures', 'ftb-subscribe-while-down.js'), String(port)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  const saw = (line: string) => waitFor(`the child to print '${line}'`, () => out.includes(line));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await saw('connected');
  await first.down();
  await waitFor('the agent to see the child go', () => agent.stats().clients === 0);
  child.stdin!.write('go\n');
  await saw('subscribed');
  // The agent is reachable again on the same port; the child reconnects and re-sends its mask.
  const second = await relay(port, agent.address.port);
  t.teardown(() => second.down());
  const publisher = await FtbClient.connect(
    { eventSpace: 'CRFTB.TEST.DOWN', clientName: 'pub' },
    { agentHost: '127.0.0.1', agentPort: agent.address.port },
  );
  t.teardown(() => publisher.close());
  publisher.declare([{ name: 'PING', severity: 'info' }]);
  // The agent routes only to known masks: publish once the re-sent subscription is in place.
  await waitFor(
    'the child to re-send its subscription',
    () => agent.stats().subscriptions >= 1 || child.exitCode !== null,
  );
  publisher.publish('PING', { payload: 'hello' });
  await waitFor('the child to receive the event or exit', () => out.includes('got hello') || child.exitCode !== null);
  t.match(out, /got hello/, `the child was still there to receive the event (its output: ${JSON.stringify(out)})`);
  t.equal(await exited, 0, 'and exited by itself afterwards');
});
