// Defaults a user of an unauthenticated protocol relies on, checked against the kernel's own socket
// tables rather than the objects' self-description: the agent (API and CLI) and the bootstrap
// server listen on loopback unless told otherwise.
import t from 'tap';
import fs from 'node:fs';
import { startAgent, startBootstrap } from '../lib/index';
import { CrftbProcess } from './helpers/crftb-process';

// Local addresses ("a.b.c.d") of this host's sockets bound to `port`, from /proc/net/{tcp,udp}.
function boundAddresses(table: 'tcp' | 'udp', port: number): string[] {
  return fs
    .readFileSync(`/proc/net/${table}`, 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((line) => line.trim().split(/\s+/)[1])
    .filter((local) => parseInt(local.split(':')[1], 16) === port)
    .map((local) => {
      const hex = local.split(':')[0];
      return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
    });
}

t.test('startAgent() without host listens on 127.0.0.1 only', async (t) => {
  const agent = await startAgent({ port: 0, bootstrap: false });
  t.teardown(() => agent.close());
  const port = agent.address.port;
  t.same(
    [...new Set(boundAddresses('tcp', port))],
    ['127.0.0.1'],
    `the kernel has the listener on loopback (port ${port})`,
  );
});

t.test('crftb agent without --host listens on 127.0.0.1 only', async (t) => {
  const agent = CrftbProcess.start(['agent', '--port', '0', '--standalone']);
  t.teardown(() => agent.stop());
  const { port } = await agent.listening();
  t.same([...new Set(boundAddresses('tcp', port))], ['127.0.0.1']);
});

t.test('startBootstrap() without host binds 127.0.0.1 only', async (t) => {
  const bootstrap = await startBootstrap({ port: 0 });
  t.teardown(() => bootstrap.close());
  const port = bootstrap.address.port;
  t.same(
    [...new Set(boundAddresses('udp', port))],
    ['127.0.0.1'],
    `the kernel has the socket on loopback (port ${port})`,
  );
});
