/**
 * The FTB agent (ftb_agent's role): routes events between local clients and the other agents of
 * the tree. The event loop runs on a native thread; this wrapper only starts it, reports tree
 * changes as events, and stops it. Compatible on the wire with FTB 0.6.2 agents and clients.
 */
import { checkOptionalObject } from '../check';
import { binding } from '../native';
import { type NativeHandle, NativeService } from './lifetime';
import type { ListenerEvents } from './listener-events';

export interface AgentOptions {
  /** Address to listen on. Default 127.0.0.1 (FTB listens on every interface). */
  host?: string;
  /** TCP port. Default: FTB_AGENT_PORT, then FTB_CONFIG_FILE, then 10809. 0 = ephemeral. */
  port?: number;
  /**
   * Address this agent gives peers and the bootstrap server. Default: `host` (127.0.0.1 unless
   * set); for host 0.0.0.0, the first non-loopback IPv4 address (FTB's rule). It must be an
   * address the agent listens on: with a specific `host`, anything else throws EINVAL.
   */
  advertiseAddress?: string;
  /** Bootstrap server address. Default: FTB_BSTRAP_SERVER, then FTB_CONFIG_FILE. */
  bootstrapServer?: string;
  /** Bootstrap server UDP port. Default: FTB_BSTRAP_PORT, then FTB_CONFIG_FILE, then 14455. */
  bootstrapPort?: number;
  /** false: a standalone agent that joins no tree (also the case when no bootstrap server is configured). */
  bootstrap?: boolean;
  /** Config file read instead of FTB_CONFIG_FILE. */
  configFile?: string;
  /** Bytes queued per client connection before NOTIFY copies are dropped (KiB). Default 4096. */
  clientQueueKiB?: number;
  /** Bytes queued per neighbour-agent connection before NOTIFY copies are dropped (KiB). Default 16384. */
  agentQueueKiB?: number;
  /** An accepted connection that does not complete the FTB handshake in time is closed. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Timeout of the connection (and handshake) to a parent agent. Default 3000. */
  connectTimeoutMs?: number;
  /**
   * Connections served at once; a connection past it is accepted and closed at once (counted in
   * connectionsRefused). Default 1024, lowered to the descriptor limit (RLIMIT_NOFILE) minus 64.
   */
  maxConnections?: number;
  /** Subscription masks one registered client may hold; more are ignored (subscriptionsRefused). Default 1024. */
  maxSubscriptionsPerClient?: number;
  /** Subscription masks one connection may hold, neighbour agents included. Default 16384. */
  maxSubscriptionsPerPeer?: number;
  /**
   * Identities (CLIENT_REGs) one connection may register, the one of its handshake included. A
   * client process registers its own and one per FTB_Connect; a neighbour agent one. A CLIENT_REG
   * past it is ignored, as FTB ignores a duplicate (there is no reply to refuse it), and counted
   * in clientsRefused: that client's subscriptions are then ignored too. Default 256.
   */
  maxClientsPerConnection?: number;
  /**
   * Identities registered agent-wide, beyond each connection's first (its handshake, never
   * refused, so clients and neighbour agents can always connect). Past it a CLIENT_REG is
   * ignored and counted in clientsRefused. Default 16384.
   */
  maxClients?: number;
  /**
   * Bytes queued for all connections together (KiB, at least 1024). When a message would take
   * the total past it, the connection holding the most is closed (one that took nothing for 1 s
   * first) and counted in peersEvicted, until the message fits. Should exceed 2 × agentQueueKiB +
   * 335 KiB, or a neighbour agent may be closed before its own bound is reached. Default 262144
   * (256 MiB).
   */
  maxQueuedKiB?: number;
  /**
   * Take a crftb client's offer of compact frames (default true; README, "Compact frames"). Real
   * FTB peers never offer and keep FTB's 1336-byte frames either way.
   */
  compactFrames?: boolean;
}

export interface AgentAddress {
  host: string;
  port: number;
  /** The address in this agent's location id and bootstrap registration. */
  advertise: string;
  /** "host:port" of the bootstrap server, or null for a standalone agent. */
  bootstrap: string | null;
}

export interface AgentStats {
  connections: number;
  /** Registered client identities (one per FTB_Connect). */
  clients: number;
  /** Neighbouring agents (parent and children). */
  agents: number;
  /** Distinct subscription masks known to this agent (its own clients' and the tree's). */
  subscriptions: number;
  /** Messages read from peers, of any type. */
  messagesReceived: number;
  /** NOTIFY messages read from peers. */
  eventsReceived: number;
  /** NOTIFY copies queued to subscribers and neighbour agents. */
  eventsRouted: number;
  /** NOTIFY copies dropped because the receiver's queue was full and it had stopped reading. */
  eventsDropped: number;
  /**
   * Times a connection was not read for a while because a reader it sends to had a full queue
   * but was still draining (back-pressure instead of dropping, at most 1 s each).
   */
  backpressurePauses: number;
  /** Connections closed for a bad handshake or a stream that lost its framing. */
  peersRejected: number;
  /**
   * Connections closed because what was queued for them (control messages included) passed
   * their hard bound, 2 × clientQueueKiB (or agentQueueKiB) + 335 KiB: peers that do not read.
   */
  peersOverLimit: number;
  /** Connections accepted and closed at once: past maxConnections, or no descriptor left. */
  connectionsRefused: number;
  /** REG_SUBSCRIPTIONs ignored past maxSubscriptionsPerClient or maxSubscriptionsPerPeer. */
  subscriptionsRefused: number;
  /** CLIENT_REGs ignored past maxClientsPerConnection or maxClients. */
  clientsRefused: number;
  /** Connections closed to keep queuedBytes within maxQueuedKiB (the largest queue, a stalled one first). */
  peersEvicted: number;
  /** Bytes queued for all connections now (at most maxQueuedKiB). */
  queuedBytes: number;
  /** Subscription masks compared with events so far: grows with the masks that can match, not all. */
  masksExamined: number;
  reattachments: number;
  attached: boolean;
  level: number;
  parent: string | null;
}

export type AgentEventKind = 'attached' | 'parent-lost' | 'bootstrap-unreachable' | 'error';

/** What an Agent emits: 'tree' for every tree event, and each event (but 'error') under its kind. */
export interface AgentEvents extends ListenerEvents {
  tree: [event: AgentTreeEvent];
  attached: [event: AgentTreeEvent];
  'parent-lost': [event: AgentTreeEvent];
  'bootstrap-unreachable': [event: AgentTreeEvent];
}

export interface AgentTreeEvent {
  kind: AgentEventKind;
  detail: string;
  level: number;
  /** For 'attached': the parent "host:port", '' when root. */
  parent: string;
}

interface NativeAgent extends NativeHandle {
  address(): AgentAddress;
  stats(): AgentStats;
}

const native = binding as unknown as {
  FtbAgent: new (options: Record<string, unknown>, onEvent: (event: AgentTreeEvent) => void) => NativeAgent;
};

/**
 * A running agent. Events: 'attached' (root or child, with level), 'parent-lost', 'bootstrap-unreachable',
 * and 'tree' for all of them. Keeps the process alive until close() unless unref()'d. close() leaves
 * the tree (CLIENT_DEREG to neighbour agents, DEREG_REQ to the bootstrap server) and closes every socket.
 */
export class Agent extends NativeService<AgentEvents> {
  readonly address: AgentAddress;
  private readonly native: NativeAgent;

  protected get handle(): NativeHandle {
    return this.native;
  }
  private lastAttach: AgentTreeEvent | null = null;

  constructor(options?: AgentOptions) {
    super();
    options = checkOptionalObject(options, 'agent options');
    this.native = new native.FtbAgent(
      {
        host: options.host,
        port: options.port,
        advertise: options.advertiseAddress,
        bootstrapHost: options.bootstrapServer,
        bootstrapPort: options.bootstrapPort,
        bootstrap: options.bootstrap,
        configFile: options.configFile,
        clientQueueKiB: options.clientQueueKiB,
        agentQueueKiB: options.agentQueueKiB,
        handshakeTimeoutMs: options.handshakeTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
        maxConnections: options.maxConnections,
        maxSubscriptionsPerClient: options.maxSubscriptionsPerClient,
        maxSubscriptionsPerPeer: options.maxSubscriptionsPerPeer,
        maxClientsPerConnection: options.maxClientsPerConnection,
        maxClients: options.maxClients,
        maxQueuedKiB: options.maxQueuedKiB,
        compactFrames: options.compactFrames,
      },
      (event) => this.onTreeEvent(event),
    );
    this.address = this.native.address();
  }

  stats(): AgentStats {
    return this.native.stats();
  }

  /** Resolves once the agent has a place in the tree (immediately for a standalone agent). */
  attached(): Promise<AgentTreeEvent> {
    if (this.stats().attached && this.lastAttach) return Promise.resolve(this.lastAttach);
    return new Promise((resolve) => this.once('attached', resolve));
  }

  private onTreeEvent(event: AgentTreeEvent): void {
    if (event.kind === 'attached') this.lastAttach = event;
    this.emit('tree', event);
    // 'error' would throw without a listener; a failed loop is reported as 'tree' + stats().
    if (event.kind !== 'error') this.emit(event.kind, event);
  }
}

/** Starts an agent; resolves when it listens (use agent.attached() to wait for the tree). */
export async function startAgent(options: AgentOptions = {}): Promise<Agent> {
  return new Agent(options);
}
