import { isDeepStrictEqual } from 'node:util';
import { type Command, EXIT_OK } from '../command';
import { integerOption, parseCommand, portOption } from '../args';
import { lineWriter, serviceOptions, untilSignal } from '../service';
import { startBootstrap, type BootstrapAgentEntry, type BootstrapOptions } from '../../ftb/bootstrap';

const usage = `Usage: crftb bootstrap [options]

Runs an FTB bootstrap server (wire-compatible with FTB 0.6.2's ftb_database_server) until
SIGINT or SIGTERM. Agents ask it where to attach in the tree. Unlike FTB 0.6.2 it retires
agents whose listener no longer answers, so a killed root does not block a new one.

Options:
  --host ADDR               address to bind (default 127.0.0.1; 0.0.0.0 for every interface)
  --port N                  UDP port (default FTB_BSTRAP_PORT, else 14455; 0 = any free port)
  --config FILE             read this file instead of FTB_CONFIG_FILE
  --fanout N                preferred maximum children per agent (default: no limit)
  --no-liveness             keep dead agents registered (FTB 0.6.2's behaviour)
  --liveness-interval MS    period of the liveness sweep (default 5000; 0 = only on reports)
  --max-agents N            registered agents in all (default 4096; REG_INVALID past it)
  --max-agents-per-source N registered agents per source address (default 256)
  --max-requests-per-second N  per source address, bursts of twice that; more get no
                            reply (default 100; 0 = no limit)
  --json                    one JSON object per line: listening, agents (on every change), closed`;

export const bootstrap: Command = {
  summary: 'Run an FTB bootstrap server (hands out the agent tree)',
  usage,
  async run(args) {
    // Everything is parsed and checked before the server starts.
    const { values } = parseCommand(args, {
      ...serviceOptions,
      fanout: { type: 'string' },
      'no-liveness': { type: 'boolean' },
      'liveness-interval': { type: 'string' },
      'max-agents': { type: 'string' },
      'max-agents-per-source': { type: 'string' },
      'max-requests-per-second': { type: 'string' },
    });
    const options: BootstrapOptions = {
      host: values.host,
      port: portOption('port', values.port),
      configFile: values.config,
      fanout: integerOption('fanout', values.fanout),
      liveness: !values['no-liveness'],
      livenessIntervalMs: integerOption('liveness-interval', values['liveness-interval']),
      maxAgents: integerOption('max-agents', values['max-agents']),
      maxAgentsPerSource: integerOption('max-agents-per-source', values['max-agents-per-source']),
      maxRequestsPerSecond: integerOption('max-requests-per-second', values['max-requests-per-second']),
    };
    const write = lineWriter(Boolean(values.json));
    const stopped = untilSignal();
    const server = await startBootstrap(options);
    write(
      'listening',
      { address: server.address },
      `crftb bootstrap server on ${server.address.host}:${server.address.port} (UDP)`,
    );

    let last: BootstrapAgentEntry[] = [];
    const watch = setInterval(() => {
      const { agents } = server.stats();
      if (isDeepStrictEqual(agents, last)) return;
      last = agents;
      const tree = agents.map((a) => `${a.address}:${a.port}@${a.level}${a.parent ? `<-${a.parent}` : ''}`).join(' ');
      write('agents', { agents }, `agents: ${tree || '(none)'}`);
    }, 200);

    const signal = await stopped;
    clearInterval(watch);
    await server.close();
    write('closed', { signal, stats: server.stats() }, `bootstrap server stopped (${signal})`);
    return EXIT_OK;
  },
};
