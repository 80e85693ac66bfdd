// A launcher job on a loopback agent in this process (no bootstrap server): the agent, the FTB
// address its nodes and coordinator use, and a watcher client that records the names of the
// job's launcher events in arrival order. Everything closes at test teardown.
import type { Test } from 'tap';
import { startAgent } from '../../lib/ftb/agent';
import { FtbClient, type FtbReceivedEvent } from '../../lib/ftb/client';
import { LAUNCHER_EVENT_SPACE } from '../../lib/launcher';

export async function loopbackJob(t: Test, job: string) {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  t.teardown(() => agent.close());
  const ftb = { agentHost: '127.0.0.1', agentPort: agent.address.port };
  const watcher = await FtbClient.connect(
    {
      eventSpace: LAUNCHER_EVENT_SPACE,
      clientName: 'watcher',
      jobId: job,
      subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
    },
    ftb,
  );
  t.teardown(() => watcher.close());
  const events: string[] = [];
  watcher
    .subscribe(`event_space=${LAUNCHER_EVENT_SPACE}, jobid=${job}`)
    .on('event', (e: FtbReceivedEvent) => events.push(e.name));
  return { agent, ftb, events, watcher };
}
