// Public types of the FTB client (FTB 0.6.2 semantics, PROTOCOL.md §7, §10–§12).

export type SubscriptionStyle =
  | 'FTB_SUBSCRIPTION_NONE'
  | 'FTB_SUBSCRIPTION_POLLING'
  | 'FTB_SUBSCRIPTION_NOTIFY'
  | 'FTB_SUBSCRIPTION_BOTH';

export type Severity = 'fatal' | 'info' | 'warning' | 'error' | 'FATAL' | 'INFO' | 'WARNING' | 'ERROR';

/** FTB_client_t. */
export interface FtbClientInfo {
  /** REGION.CATEGORY.COMPONENT, e.g. `FTB.checkpoint_sw.blcr`. */
  eventSpace: string;
  /** ≤ 15 characters; may be empty. */
  clientName?: string;
  /** ≤ 15 characters; copied into every published event. */
  jobId?: string;
  /** Default FTB_SUBSCRIPTION_NONE (publish only). Case is ignored. */
  subscriptionStyle?: SubscriptionStyle | string;
  /** Polling queue capacity (POLLING/BOTH); ≤ 0 or absent → 64. Overflow drops the oldest. */
  pollingQueueLength?: number;
}

export interface FtbConnectOptions {
  /** Agent address that wins over FTB_AGENT_PORT / FTB_CONFIG_FILE: `localhost` or a dotted quad. */
  agentHost?: string;
  agentPort?: number;
  /** Override FTB_BSTRAP_SERVER / FTB_BSTRAP_PORT / FTB_CONFIG_FILE. */
  bootstrapServer?: string;
  bootstrapPort?: number;
  configFile?: string;
  /** Bound on the whole first connect (local agent, then bootstrap fallback). Default 5000. */
  connectTimeoutMs?: number;
  /** Reconnect after losing the agent (default true), with doubling back-off. */
  reconnect?: boolean;
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Output the agent has not taken yet before publish fails (default 4 MiB). */
  sendBacklogBytes?: number;
  /** Callback events waiting for the JS thread before new ones are dropped (default 65536). */
  callbackQueueLimit?: number;
  /**
   * Subscriptions this client may hold; subscribe() past it throws FTB_ERR_GENERAL. Default 1024,
   * crftb agents' maxSubscriptionsPerClient (an agent ignores masks past its cap silently).
   */
  maxSubscriptions?: number;
  /** The process address written into events (§2.4); default: first non-`lo` IPv4. */
  hostAddress?: string;
  /**
   * Offer crftb's compact frames in the handshake (default true): used only when the agent is
   * crftb's and takes the offer; a real FTB agent ignores it and gets FTB's 1336-byte frames.
   * Decided by the client that opens the process's connection to an agent (clients of one
   * process share it). `false` keeps FTB's framing, e.g. for reading a capture with FTB tools.
   */
  compactFrames?: boolean;
}

export interface FtbEventDeclaration {
  name: string;
  severity: Severity | string;
}

/** FTB_receive_event_t, plus the event's own hostname field. */
export interface FtbEvent {
  space: string;
  region: string;
  category: string;
  component: string;
  name: string;
  severity: string;
  clientName: string;
  jobId: string;
  /** The publisher's address as written in the event. */
  hostname: string;
  clientExtension: number;
  /** incoming_src: the publisher's process. */
  sourceHost: string;
  sourcePid: number;
  sourceStartTime: string;
  seqnum: number;
  /** 1 = event, 2 = response (payload starts with the handle of the event it answers). */
  eventType: number;
  /** All 368 payload bytes. */
  payload: Buffer;
  /** FTB_Get_event_handle of this event (null if its event space does not parse). */
  handle: Buffer | null;
}

export interface FtbClientStats {
  closed: boolean;
  published?: number;
  received?: number;
  /** Events handed to the JS thread for a callback subscription (each reaches its listeners). */
  callbackDelivered?: number;
  /** Deliveries whose listener threw; each exception was rethrown to 'uncaughtException'. */
  listenerErrors?: number;
  /** Events a full callback queue (callbackQueueLimit) could not take. */
  callbackDropped?: number;
  pollQueued?: number;
  /** Oldest events pushed out of a full polling queue (FTB's drop-oldest policy). */
  pollDropped?: number;
  /** Events no callback took on a client that cannot poll. */
  discarded?: number;
  pollQueueLength?: number;
  pollQueueCapacity?: number;
}

export interface FtbConnectionStats {
  connected: boolean;
  fd: number;
  agent: string;
  reconnects: number;
  losses: number;
  backlogBytes: number;
  /** A JS thread with listeners reads the agent socket itself (one wake-up per event). */
  readOnJsThread: boolean;
  /** The agent is crftb's and took the offer of compact frames (README, "Compact frames"). */
  compactFrames: boolean;
  /** Received messages dropped because they were not NOTIFYs (a client takes nothing else). */
  ignored: number;
  /** Received NOTIFYs dropped because their dst named no client of this process. */
  unaddressed: number;
}

export const FTB_PAYLOAD_SIZE = 368;
export const FTB_EVENT_HANDLE_SIZE = 360;
