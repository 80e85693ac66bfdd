// A loopback FTB tree of real processes: `crftb bootstrap` and N `crftb agent`s, each agent
// waited for until it has its place in the tree. Everything is killed at test teardown.
import type { Test } from 'tap';
import { CrftbProcess } from './crftb-process';

export async function startTree(t: Test, agents: number) {
  const bootstrap = CrftbProcess.start(['bootstrap', '--port', '0', '--liveness-interval', '500']);
  t.teardown(() => bootstrap.stop('SIGKILL'));
  const { port: bootstrapPort } = await bootstrap.listening();
  const started: { proc: CrftbProcess; port: number }[] = [];
  for (let i = 0; i < agents; i++) {
    const proc = CrftbProcess.start([
      'agent',
      '--port',
      '0',
      '--advertise',
      '127.0.0.1',
      '--bootstrap',
      `127.0.0.1:${bootstrapPort}`,
      '--stats-interval',
      '100',
    ]);
    t.teardown(() => proc.stop('SIGKILL'));
    const { port } = await proc.listening();
    await proc.waitFor((l) => l.event === 'attached');
    started.push({ proc, port });
  }
  return { bootstrap, bootstrapPort, agents: started };
}

/** Waits until the agent's periodic stats line shows at least `n` subscription masks. */
export function masksAtLeast(proc: CrftbProcess, n: number) {
  return proc.waitFor((l) => l.event === 'stats' && l.stats.subscriptions >= n, 10000);
}
