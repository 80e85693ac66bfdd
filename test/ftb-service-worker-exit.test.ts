// An agent and a bootstrap server inside a worker thread that goes away while they run: the
// environment's cleanup stops them (docs/ARCHITECTURE.md, "Lifetime of native objects"). The
// process stays healthy, the ports are free again, connected peers see the end, and nothing
// crashes (also under test:asan). Two ways to go: terminate(), and a worker whose loop runs out
// because both services were unref()'d.
import t, { type Test } from 'tap';
import dgram from 'node:dgram';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import { startAgent } from '../lib/ftb/agent';
import { RawClient } from './helpers/ftb-raw-client';
import { dist } from './helpers/node-child';

interface Ports {
  agent: number;
  bootstrap: number;
}

// A worker running a bootstrap server and an agent attached to it, both on ephemeral loopback
// ports; it posts the ports once the agent has its place in the tree. With `unref`, the first
// message from the test unrefs both, and nothing else holds the worker.
function startServicesInWorker(unref: boolean): { worker: Worker; ports: Promise<Ports>; exited: Promise<number> } {
  const worker = new Worker(
    `
    const { parentPort } = require('node:worker_threads');
    const lib = require(${JSON.stringify(dist)});
    (async () => {
      const bootstrap = await lib.startBootstrap({ host: '127.0.0.1', port: 0 });
      const agent = await lib.startAgent({ host: '127.0.0.1', port: 0, bootstrapServer: '127.0.0.1', bootstrapPort: bootstrap.address.port });
      await agent.attached();
      parentPort.postMessage({ agent: agent.address.port, bootstrap: bootstrap.address.port });
      if (${unref}) parentPort.once('message', () => { agent.unref(); bootstrap.unref(); });
    })();`,
    { eval: true },
  );
  const ports = new Promise<Ports>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, ports, exited };
}

function tcpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

// A raw FTB client connected to the agent: its end is the peer's view of the agent stopping.
async function connectedPeer(port: number) {
  const client = await RawClient.connect(port, 61001);
  client.register({ eventSpace: 'FTB.TEST.WORKER', clientName: 'peer' });
  return client;
}

async function theProcessStillServes(t: Test) {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  const peer = await connectedPeer(agent.address.port);
  t.equal(peer.agentLocation?.pid, process.pid, 'a new agent in this process answers the handshake');
  peer.close();
  await agent.close();
}

t.test('worker.terminate() with a running agent and bootstrap server', async (t) => {
  const { worker, ports, exited } = startServicesInWorker(false);
  const { agent, bootstrap } = await ports;
  const peer = await connectedPeer(agent);
  t.notOk(await tcpPortFree(agent), 'the agent listens while the worker runs');
  t.notOk(await udpPortFree(bootstrap), 'the bootstrap server is bound while the worker runs');
  await worker.terminate();
  t.equal(await exited, 1, 'the worker ended by terminate()');
  t.ok(await peer.peer.closedByPeer(10000), 'the connected peer sees the agent close the connection');
  t.ok(await tcpPortFree(agent), 'the agent port is free');
  t.ok(await udpPortFree(bootstrap), 'the bootstrap port is free');
  await theProcessStillServes(t);
});

t.test('a worker whose loop runs out: unref()d services stop with their environment', async (t) => {
  const { worker, ports, exited } = startServicesInWorker(true);
  const { agent, bootstrap } = await ports;
  const peer = await connectedPeer(agent);
  worker.postMessage('unref');
  t.equal(await exited, 0, 'nothing kept the worker alive: it ended by itself');
  t.ok(await peer.peer.closedByPeer(10000), 'the connected peer sees the agent close the connection');
  t.ok(await tcpPortFree(agent), 'the agent port is free');
  t.ok(await udpPortFree(bootstrap), 'the bootstrap port is free');
  await theProcessStillServes(t);
});
