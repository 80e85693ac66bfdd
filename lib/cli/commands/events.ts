import { type Command, EXIT_OK, UsageError } from '../command';
import { hostPortOption, integerOption, parseCommand } from '../args';
import { lineWriter, untilSignal } from '../service';
import { FtbClient, type FtbConnectOptions } from '../../ftb/client';

const usage = `Usage: crftb events [subscription] [options]

Subscribes to FTB events and prints one line per event until SIGINT/SIGTERM (or --count).
The subscription uses FTB's syntax (default: everything), for example
  crftb events "event_space=FTB.checkpoint_sw.blcr"
  crftb events "event_space=FTB.checkpoint_sw.blcr, severity=error"
The agent comes from FTB_AGENT_PORT / FTB_CONFIG_FILE (127.0.0.1:10809) unless given.

Options:
  --agent HOST[:PORT]      agent to connect to
  --bootstrap HOST[:PORT]  bootstrap server for the fallback when no local agent answers
  --event-space SPACE      this subscriber's own event space (default CRFTB.TOOLS.EVENTS)
  --name NAME              this subscriber's client name (default events)
  --count N                exit after N events
  --json                   one JSON object per line (ready, event, closed)`;

export const events: Command = {
  summary: 'Print FTB events as they happen (a live event log)',
  usage,
  async run(args) {
    const { values, positionals } = parseCommand(
      args,
      {
        agent: { type: 'string' },
        bootstrap: { type: 'string' },
        'event-space': { type: 'string' },
        name: { type: 'string' },
        count: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    if (positionals.length > 1) throw new UsageError('give one subscription string (quote it if it has spaces)');
    const subscription = positionals[0] ?? '';
    const count = integerOption('count', values.count, 1);
    const options: FtbConnectOptions = {};
    const agent = hostPortOption('agent', values.agent);
    if (agent) {
      options.agentHost = agent.host;
      if (agent.port !== undefined) options.agentPort = agent.port;
    }
    const bootstrap = hostPortOption('bootstrap', values.bootstrap);
    if (bootstrap) {
      options.bootstrapServer = bootstrap.host;
      if (bootstrap.port !== undefined) options.bootstrapPort = bootstrap.port;
    }

    const write = lineWriter(Boolean(values.json));
    const stopped = untilSignal();
    const client = await FtbClient.connect(
      {
        eventSpace: values['event-space'] ?? 'CRFTB.TOOLS.EVENTS',
        clientName: values.name ?? 'events',
        subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
      },
      options,
    );
    const sub = client.subscribe(subscription, { kind: 'callback' });
    write(
      'ready',
      { subscription, agent: FtbClient.connectionStats().agent },
      `listening for events matching '${subscription || '(everything)'}' via ${FtbClient.connectionStats().agent}`,
    );

    let seen = 0;
    const finished = new Promise<string>((resolve) => {
      sub.on('event', (e) => {
        seen++;
        write(
          'event',
          { ...e.toJSON(), payload: e.payload.toString('base64') },
          `${new Date().toISOString()} ${e.space} ${e.name} ${e.severity} seq=${e.seqnum} type=${e.eventType} from ${e.clientName || '(unnamed)'}@${e.sourceHost} pid ${e.sourcePid}`,
        );
        if (count !== undefined && seen >= count) resolve('count');
      });
    });
    const why = await Promise.race([stopped, finished]);
    await client.close();
    write('closed', { reason: why, events: seen }, `stopped (${why}) after ${seen} events`);
    return EXIT_OK;
  },
};
