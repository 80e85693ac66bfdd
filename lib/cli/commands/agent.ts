import { type Command, EXIT_OK } from '../command';
import { hostPortOption, integerOption, parseCommand, portOption } from '../args';
import { lineWriter, serviceOptions, untilSignal } from '../service';
import { startAgent, type AgentOptions } from '../../ftb/agent';

const usage = `Usage: crftb agent [options]

Runs an FTB agent (wire-compatible with FTB 0.6.2's ftb_agent) until SIGINT or SIGTERM.
Settings not given here come from FTB_AGENT_PORT, FTB_BSTRAP_SERVER, FTB_BSTRAP_PORT and
FTB_CONFIG_FILE, as FTB reads them. Without any bootstrap server the agent runs standalone.

Options:
  --host ADDR              listen address (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N                 TCP port (default FTB_AGENT_PORT, else 10809; 0 = any free port)
  --advertise ADDR         address given to peers and the bootstrap server; must be one the
                           agent listens on (default: --host; for 0.0.0.0, the first
                           non-loopback IPv4 address, FTB's rule)
  --bootstrap HOST[:PORT]  bootstrap server (default FTB_BSTRAP_SERVER)
  --bootstrap-port N       bootstrap server UDP port (default FTB_BSTRAP_PORT, else 14455)
  --standalone             join no tree, even if a bootstrap server is configured
  --config FILE            read this file instead of FTB_CONFIG_FILE
  --client-queue-kib N     per-client send queue before events are dropped (default 4096)
  --agent-queue-kib N      per-neighbour-agent send queue before events are dropped (default 16384)
  --max-connections N      connections served at once; newer ones are closed at once
                           (default 1024, less under a low descriptor limit)
  --max-subscriptions-per-client N  masks one client may hold (default 1024)
  --max-subscriptions-per-peer N    masks one connection may hold (default 16384)
  --max-clients-per-connection N    identities one connection may register (default 256)
  --max-clients N          identities registered agent-wide beyond each connection's
                           first (default 16384)
  --max-queued-kib N       bytes queued for all connections; past it the largest queue's
                           connection is closed (default 262144)
  --stats-interval MS      print the agent's counters every MS milliseconds
  --json                   one JSON object per line: listening, attached, parent-lost, closed`;

export const agent: Command = {
  summary: 'Run an FTB agent (joins the tree named by the bootstrap server)',
  usage,
  async run(args) {
    // Everything is parsed and checked before the agent starts: a bad flag never leaves one running.
    const { values } = parseCommand(args, {
      ...serviceOptions,
      advertise: { type: 'string' },
      bootstrap: { type: 'string' },
      'bootstrap-port': { type: 'string' },
      standalone: { type: 'boolean' },
      'client-queue-kib': { type: 'string' },
      'agent-queue-kib': { type: 'string' },
      'stats-interval': { type: 'string' },
      'max-connections': { type: 'string' },
      'max-subscriptions-per-client': { type: 'string' },
      'max-subscriptions-per-peer': { type: 'string' },
      'max-clients-per-connection': { type: 'string' },
      'max-clients': { type: 'string' },
      'max-queued-kib': { type: 'string' },
    });
    const options: AgentOptions = {
      host: values.host,
      port: portOption('port', values.port),
      advertiseAddress: values.advertise,
      bootstrapPort: portOption('bootstrap-port', values['bootstrap-port']),
      configFile: values.config,
      clientQueueKiB: integerOption('client-queue-kib', values['client-queue-kib']),
      agentQueueKiB: integerOption('agent-queue-kib', values['agent-queue-kib']),
      maxConnections: integerOption('max-connections', values['max-connections']),
      maxSubscriptionsPerClient: integerOption('max-subscriptions-per-client', values['max-subscriptions-per-client']),
      maxSubscriptionsPerPeer: integerOption('max-subscriptions-per-peer', values['max-subscriptions-per-peer']),
      maxClientsPerConnection: integerOption('max-clients-per-connection', values['max-clients-per-connection']),
      maxClients: integerOption('max-clients', values['max-clients']),
      maxQueuedKiB: integerOption('max-queued-kib', values['max-queued-kib']),
    };
    const bootstrap = hostPortOption('bootstrap', values.bootstrap);
    if (bootstrap) {
      options.bootstrapServer = bootstrap.host;
      if (bootstrap.port !== undefined) options.bootstrapPort = bootstrap.port;
    }
    if (values.standalone) options.bootstrap = false;
    const every = integerOption('stats-interval', values['stats-interval'], 1);

    const write = lineWriter(Boolean(values.json));
    const stopped = untilSignal();
    const running = await startAgent(options);
    const { address } = running;
    write(
      'listening',
      { address },
      `crftb agent listening on ${address.host}:${address.port} as ${address.advertise || '(no address)'}, bootstrap ${address.bootstrap ?? 'none (standalone)'}`,
    );
    running.on('tree', (e) =>
      write(
        e.kind,
        { level: e.level, parent: e.parent || null, detail: e.detail },
        `agent: ${e.detail}${e.level ? ` (level ${e.level})` : ''}`,
      ),
    );

    const ticker = every
      ? setInterval(() => {
          const s = running.stats();
          write(
            'stats',
            { stats: s },
            `agent: ${s.clients} clients, ${s.agents} agents, ${s.subscriptions} masks, ${s.eventsRouted} routed, ${s.eventsDropped} dropped`,
          );
        }, every)
      : null;

    const signal = await stopped;
    if (ticker) clearInterval(ticker);
    await running.close();
    const stats = running.stats();
    write(
      'closed',
      { signal, stats },
      `agent stopped (${signal}): ${stats.eventsRouted} events routed, ${stats.eventsDropped} dropped`,
    );
    return EXIT_OK;
  },
};
