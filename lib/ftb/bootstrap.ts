/**
 * The FTB bootstrap server (ftb_database_server's role): tells agents where to attach in the
 * tree. Served by a native thread; compatible on the wire with FTB 0.6.2 agents and clients.
 * Unlike 0.6.2 it retires dead agents (see native/ftb/bootstrap_registry.h for the rule).
 */
import { checkOptionalObject } from '../check';
import { binding } from '../native';
import { type NativeHandle, NativeService } from './lifetime';
import type { ListenerEvents } from './listener-events';

export interface BootstrapOptions {
  /** Address to bind. Default 127.0.0.1 (FTB binds every interface). */
  host?: string;
  /** UDP port. Default: FTB_BSTRAP_PORT, then FTB_CONFIG_FILE, then 14455. 0 = ephemeral. */
  port?: number;
  configFile?: string;
  /** Preferred maximum children per agent (0 = no limit: everyone attaches to the shallowest agent). */
  fanout?: number;
  /** false: keep dead agents registered forever, as FTB 0.6.2 does. Default true. */
  liveness?: boolean;
  /** Period of the liveness sweep over all registered agents; 0 = only on reports. Default 5000. */
  livenessIntervalMs?: number;
  /** Connect timeout of one liveness probe. Default 500. */
  probeTimeoutMs?: number;
  /** Registered agents in all; a registration past it gets REG_INVALID. Default 4096. */
  maxAgents?: number;
  /** Registered agents per source address of the requests; REG_INVALID past it. Default 256. */
  maxAgentsPerSource?: number;
  /** Requests per second per source address (bursts of twice that); more get no reply. Default 100; 0 = no limit. */
  maxRequestsPerSecond?: number;
}

export interface BootstrapAgentEntry {
  address: string;
  port: number;
  level: number;
  crossedOut: boolean;
  children: number;
  parent: string | null;
}

export interface BootstrapStats {
  requests: number;
  replies: number;
  /** Requests that get no reply: CONN_FAIL, port-0 registrations, bad lengths, unknown types. */
  unanswered: number;
  /** Agents retired because their listener stopped answering. */
  removedDead: number;
  /** Requests dropped (no reply) over maxRequestsPerSecond. */
  rateLimited: number;
  /** REG_INVALID for a name that is not an IPv4 address, a level the tree does not support, or a cap. */
  registrationsRefused: number;
  /** Registered agents and pending offers looked at by requests so far (each costs at most linear time in them). */
  entriesExamined: number;
  agents: BootstrapAgentEntry[];
}

interface NativeBootstrap extends NativeHandle {
  address(): { host: string; port: number };
  stats(): BootstrapStats;
}

const native = binding as unknown as {
  FtbBootstrapServer: new (options: Record<string, unknown>) => NativeBootstrap;
};

export class BootstrapServer extends NativeService<ListenerEvents> {
  readonly address: { host: string; port: number };
  private readonly native: NativeBootstrap;

  protected get handle(): NativeHandle {
    return this.native;
  }

  constructor(options?: BootstrapOptions) {
    super();
    options = checkOptionalObject(options, 'bootstrap server options');
    this.native = new native.FtbBootstrapServer({ ...options });
    this.address = this.native.address();
  }

  stats(): BootstrapStats {
    return this.native.stats();
  }
}

export async function startBootstrap(options: BootstrapOptions = {}): Promise<BootstrapServer> {
  return new BootstrapServer(options);
}
