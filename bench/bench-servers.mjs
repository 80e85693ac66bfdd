// What the FTB latency and throughput benches both run against: a `crftb agent` process with a
// subscriber FtbClient of this process on it, and nats-server when installed (null otherwise).
import { crftb, startAgentProcess } from './ftb-bench-common.mjs';
import { natsAvailable, startNatsServer } from './nats-peer.mjs';

export async function startServers() {
  const agent = await startAgentProcess();
  const nats = natsAvailable() ? await startNatsServer() : null;
  const sub = await crftb.FtbClient.connect(
    { eventSpace: 'BENCH.PERF.SUB', clientName: 'bsubc', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    { agentHost: '127.0.0.1', agentPort: agent.port },
  );
  const stop = async () => {
    await sub.close();
    await agent.stop();
    await nats?.stop();
  };
  return { agent, nats, sub, stop };
}
