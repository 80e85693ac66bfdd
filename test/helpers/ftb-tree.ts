// FTB agents and trees as real processes: `crftb agent` arguments written once, and a tree of
// `crftb bootstrap` with N `crftb agent`s (on loopback, or one per network-namespace host), each
// agent waited for until it has its place in the tree.
import type { Test } from 'tap';
import { CrftbProcess } from './crftb-process';
import type { TestHost } from './netns';

export interface AgentArgs {
  /** Listen address (default: the agent's own default, loopback). */
  host?: string;
  /** Advertised address (default: `host`, else 127.0.0.1). */
  advertise?: string;
  /** Port to listen on (default 0: any free one). */
  port?: number;
  /** host:port of the bootstrap server; without it the agent runs standalone. */
  bootstrap?: string;
  /** Period of the agent's stats lines in ms (default: none). */
  statsMs?: number;
  /** Further arguments, e.g. queue bounds. */
  extra?: string[];
}

/** The arguments of `crftb agent` for a test or bench. */
export function agentArgs(options: AgentArgs = {}): string[] {
  const { host, advertise = host ?? '127.0.0.1', port = 0, bootstrap, statsMs, extra = [] } = options;
  return [
    'agent',
    ...(host ? ['--host', host] : []),
    '--port',
    String(port),
    '--advertise',
    advertise,
    ...(bootstrap ? ['--bootstrap', bootstrap] : ['--standalone']),
    ...(statsMs ? ['--stats-interval', String(statsMs)] : []),
    ...extra,
  ];
}

export interface TreeOptions {
  /** Loopback agents to start (ignored with `hosts`). */
  agents?: number;
  /** One agent per host, in its namespace; the bootstrap server runs on the first host. */
  hosts?: TestHost[];
  /** Further arguments of the bootstrap server (fanout, liveness interval). */
  bootstrapArgs?: string[];
  /** Period of the agents' stats lines in ms (default: none). */
  statsMs?: number;
  /** Further arguments of every agent. */
  agentExtra?: string[];
  /** How long an agent may take to attach (start-up is slow on a loaded machine). */
  attachTimeoutMs?: number;
  /** Takes each process as it starts; the caller stops them. */
  own: (proc: CrftbProcess) => void;
}

export interface TreeAgent {
  proc: CrftbProcess;
  port: number;
  /** The agent's `attached` line: its level and parent. */
  attached: Record<string, any>;
}

export async function startAgentTree(options: TreeOptions) {
  const { hosts, bootstrapArgs = [], statsMs, agentExtra, attachTimeoutMs, own } = options;
  const bootstrapHost = hosts?.[0].ip;
  const bootstrap = CrftbProcess.start(
    ['bootstrap', ...(bootstrapHost ? ['--host', bootstrapHost] : []), '--port', '0', ...bootstrapArgs],
    { netns: hosts?.[0].ns },
  );
  own(bootstrap);
  const { port: bootstrapPort } = await bootstrap.listening();
  const places = hosts ?? Array.from({ length: options.agents ?? 1 }, () => undefined);
  const agents: TreeAgent[] = [];
  for (const host of places) {
    const proc = CrftbProcess.start(
      agentArgs({
        host: host?.ip,
        bootstrap: `${bootstrapHost ?? '127.0.0.1'}:${bootstrapPort}`,
        statsMs,
        extra: agentExtra,
      }),
      { netns: host?.ns },
    );
    own(proc);
    const { port } = await proc.listening();
    const attached = await proc.waitFor((l) => l.event === 'attached', attachTimeoutMs);
    agents.push({ proc, port, attached });
  }
  return { bootstrap, bootstrapPort, agents };
}

/** A loopback tree whose processes are SIGKILLed at test teardown, agents reporting stats every 100 ms. */
export function startTree(t: Test, agents: number) {
  return startAgentTree({
    agents,
    bootstrapArgs: ['--liveness-interval', '500'],
    statsMs: 100,
    own: (proc) => t.teardown(() => proc.stop('SIGKILL')),
  });
}

/** Waits until the agent's periodic stats line shows at least `n` subscription masks. */
export function masksAtLeast(proc: CrftbProcess, n: number) {
  return proc.waitFor((l) => l.event === 'stats' && l.stats.subscriptions >= n, 10000);
}
