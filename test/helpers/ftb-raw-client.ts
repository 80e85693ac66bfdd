// A minimal FTB client process made of raw frames (every byte built by the addon's one codec,
// ftbRules.encode): handshake as a client process (manager ext 1), CLIENT_REG, REG_SUBSCRIPTION,
// NOTIFY. Lets agent tests drive real TCP traffic without depending on crftb's client library.
import type { Test } from 'tap';
import { ftbRules, type WireObject } from '../../lib/ftb/native';
import { RawPeer, MESSAGE_SIZE } from './ftb-raw-peer';

const NOTIFY = 0x01,
  CLIENT_REG = 0x11,
  CLIENT_DEREG = 0x12,
  CLEANUP_CONN = 0x13,
  REG_SUBSCRIPTION = 0x22,
  SUBSCRIPTION_CANCEL = 0x24;

export interface ConnectOptions {
  /** Handshake as a client process (manager ext 1, the default) or as an agent (ext 0). */
  as?: 'client' | 'agent';
  /** pid_starttime of the location (default: now): equal pid and start time make equal locations. */
  start?: string;
  /** Offer compact frames in the handshake, as crftb's client does (used if the agent takes it). */
  compact?: boolean;
}

export interface Identity {
  eventSpace: string;
  clientName: string;
  jobId?: string;
}

export class RawClient {
  readonly peer: RawPeer;
  readonly pid: number;
  readonly host: string;
  readonly start: string;
  readonly as: 'client' | 'agent';
  agentLocation: WireObject | null = null;
  /** The agent took our offer: frames both ways are compact (ftbRules.compact). */
  compact = false;
  private seq = 0;

  constructor(peer: RawPeer, pid: number, host = '127.0.0.1', options: ConnectOptions = {}) {
    this.peer = peer;
    this.pid = pid;
    this.host = host;
    this.as = options.as ?? 'client';
    this.start = options.start ?? ftbRules.formatStartTime(Math.floor(Date.now() / 1000));
  }

  /** Connects and handshakes as a client process (or an agent) with a made-up pid (several per test process). */
  static async connect(
    port: number,
    pid: number,
    host = '127.0.0.1',
    options: ConnectOptions = {},
  ): Promise<RawClient> {
    const client = new RawClient(await RawPeer.connect(port, host), pid, host, options);
    const reply = await client.peer.handshake(
      handshakeFrame(pid, client.as, client.start, client.host, options.compact),
    );
    if (!reply) throw new Error('the agent did not answer the handshake');
    client.agentLocation = ftbRules.decode('location', reply);
    const { mark, markInHostname } = ftbRules.compact;
    client.compact = !!options.compact && reply.subarray(markInHostname, markInHostname + mark.length).equals(mark);
    return client;
  }

  location(prefix: string): WireObject {
    return { [`${prefix}hostname`]: this.host, [`${prefix}pid_starttime`]: this.start, [`${prefix}pid`]: this.pid };
  }

  manager(prefix: string): WireObject {
    return {
      ...this.location(`${prefix}location.`),
      [`${prefix}client.comp_cat`]: 'FTB_COMP_CAT_BACKPLANE',
      [`${prefix}client.comp`]: 'FTB_COMP_MANAGER',
      [`${prefix}client.ext`]: this.as === 'agent' ? 0 : 1,
    };
  }

  id(prefix: string, who: Identity): WireObject {
    const space = ftbRules.parseEventSpace(who.eventSpace);
    return {
      ...this.location(`${prefix}location.`),
      [`${prefix}client.region`]: space.region,
      [`${prefix}client.comp_cat`]: space.comp_cat,
      [`${prefix}client.comp`]: space.comp,
      [`${prefix}client.client_name`]: who.clientName,
      [`${prefix}client.ext`]: 0,
    };
  }

  /** Writes one message in this connection's framing. */
  write(message: Buffer): void {
    this.peer.write(this.compact ? ftbRules.compact.encode(message) : message);
  }

  private send(type: number, who: Identity | null, event: WireObject = {}): void {
    this.write(
      ftbRules.encode('message', {
        msg_type: type,
        ...(who ? this.id('src.', who) : this.manager('src.')),
        ...(this.agentLocation
          ? Object.fromEntries(Object.entries(this.agentLocation).map(([k, v]) => [`dst.location.${k}`, v]))
          : {}),
        ...event,
      }),
    );
  }

  register(who: Identity): void {
    this.send(CLIENT_REG, who);
  }

  /**
   * `count` CLIENT_REGs of identities named `${who.clientName}0`, `${who.clientName}1`, … (at
   * most 15 characters), encoded up front into one buffer.
   */
  registrations(who: Identity, count: number): Buffer {
    const frame = ftbRules.encode('message', { msg_type: CLIENT_REG, ...this.id('src.', who) });
    const [nameAt, width] = ftbRules.layout().Message.fields['src.client.client_name'];
    const all = Buffer.alloc(count * MESSAGE_SIZE);
    for (let i = 0; i < count; i++) {
      const at = i * MESSAGE_SIZE;
      frame.copy(all, at);
      all.fill(0, at + nameAt, at + nameAt + width);
      all.write(`${who.clientName}${i}`, at + nameAt, width - 1, 'latin1');
    }
    return all;
  }

  /** `who` (null: this process' manager identity) leaves; a manager's CLIENT_DEREG closes the connection. */
  deregister(who: Identity | null): void {
    this.send(CLIENT_DEREG, who);
  }

  /** CLEANUP_CONN naming `who`: agent-internal in FTB, and what a hostile peer may send anyway. */
  cleanupConn(who: Identity | null): void {
    this.send(CLEANUP_CONN, who);
  }

  /** REG_SUBSCRIPTION of `who`, or of this process' (agent's) manager identity for null. */
  subscribe(who: Identity | null, subscription: string): void {
    const mask = ftbRules.parseSubscription(subscription);
    this.send(REG_SUBSCRIPTION, who, Object.fromEntries(Object.entries(mask).map(([k, v]) => [`event.${k}`, v])));
  }

  cancel(who: Identity, subscription: string): void {
    const mask = ftbRules.parseSubscription(subscription);
    this.send(SUBSCRIPTION_CANCEL, who, Object.fromEntries(Object.entries(mask).map(([k, v]) => [`event.${k}`, v])));
  }

  /**
   * A NOTIFY frame of `who` for event `name` (severity info, event type 1, seqnum 0, no agent
   * address), to be copied and patched (seqnum, payload) for floods and benches.
   */
  notifyFrame(who: Identity, name: string): Buffer {
    const space = ftbRules.parseEventSpace(who.eventSpace);
    return ftbRules.encode('message', {
      msg_type: NOTIFY,
      ...this.id('src.', who),
      'event.region': space.region,
      'event.comp_cat': space.comp_cat,
      'event.comp': space.comp,
      'event.event_name': name,
      'event.severity': 'info',
      'event.client_name': who.clientName,
      'event.hostname': this.host,
      'event.event_type': 1,
    });
  }

  /**
   * `count` NOTIFYs of `name` from `who`, seqnums 1, 2, … (mod 2^16), encoded up front into one
   * buffer so a test can write them at once and keep its thread free while the agent takes them.
   */
  flood(who: Identity, name: string, count: number): Buffer {
    const frame = this.notifyFrame(who, name);
    const [seqAt] = ftbRules.layout().Message.fields['event.seqnum'];
    const flood = Buffer.alloc(count * MESSAGE_SIZE);
    for (let i = 0; i < count; i++) {
      frame.copy(flood, i * MESSAGE_SIZE);
      flood.writeUInt16LE((i + 1) & 0xffff, i * MESSAGE_SIZE + seqAt);
    }
    return flood;
  }

  /** Publishes as FTB_Publish would; returns the seqnum used. */
  publish(
    who: Identity,
    name: string,
    severity: string,
    eventType: number,
    payload: Buffer = Buffer.alloc(368),
  ): number {
    const space = ftbRules.parseEventSpace(who.eventSpace);
    this.seq = (this.seq + 1) & 0xffff;
    this.send(NOTIFY, who, {
      'event.region': space.region,
      'event.comp_cat': space.comp_cat,
      'event.comp': space.comp,
      'event.event_name': name,
      'event.severity': severity,
      'event.client_jobid': who.jobId ?? '',
      'event.client_name': who.clientName,
      'event.hostname': this.host,
      'event.seqnum': this.seq,
      'event.event_type': eventType,
      'event.payload': payload,
    });
    return this.seq;
  }

  /** Next delivered message, decoded; null on timeout or EOF. */
  async next(timeoutMs = 5000): Promise<WireObject | null> {
    const bytes = await this.nextBytes(timeoutMs);
    return bytes ? ftbRules.decode('message', bytes) : null;
  }

  /** Next delivered message as its 1336 bytes (a compact frame decoded); null on timeout or EOF. */
  async nextBytes(timeoutMs = 5000): Promise<Buffer | null> {
    if (!this.compact) return this.peer.read(MESSAGE_SIZE, timeoutMs);
    const head = await this.peer.read(2, timeoutMs);
    const rest = head && (await this.peer.read(head.readUInt16LE(0) - 2, timeoutMs));
    if (!rest) return null;
    const d = ftbRules.compact.decode(Buffer.concat([head, rest]));
    if (d.outcome !== 'message') throw new Error(`the agent sent a ${d.outcome} compact frame`);
    return d.message!;
  }

  close(): void {
    this.peer.close();
  }
}

/**
 * The handshake frame of a peer with a made-up pid (on 127.0.0.1 unless told), claiming to be a
 * client process (`as: 'client'`, manager ext 1) or an agent (ext 0).
 */
export function handshakeFrame(
  pid: number,
  as: 'client' | 'agent' = 'client',
  startTime = 'x',
  hostname = '127.0.0.1',
  offerCompact = false,
): Buffer {
  const frame = ftbRules.encode('handshake', {
    system_id: 1,
    'location.hostname': hostname,
    'location.pid_starttime': startTime,
    'location.pid': pid,
    'registration.msg_type': CLIENT_REG,
    'registration.src.location.hostname': hostname,
    'registration.src.location.pid_starttime': startTime,
    'registration.src.location.pid': pid,
    'registration.src.client.comp_cat': 'FTB_COMP_CAT_BACKPLANE',
    'registration.src.client.comp': 'FTB_COMP_MANAGER',
    'registration.src.client.ext': as === 'agent' ? 0 : 1,
  });
  if (offerCompact)
    ftbRules.compact.mark.copy(frame, ftbRules.layout().Handshake.fields['registration.event.payload'][0]);
  return frame;
}

/**
 * A subscriber to event_name=GOOD and a publisher, each on its own connection (compact frames
 * when `compact`), for tests that check honest traffic goes on beside hostile peers.
 */
export async function honestPair(t: Test, port: number, pid: number, options: { compact?: boolean } = {}) {
  const PUB = { eventSpace: 'FTB.TEST.PUB', clientName: 'pub' };
  const SUB = { eventSpace: 'FTB.TEST.SUB', clientName: 'sub' };
  const sub = await RawClient.connect(port, pid, '127.0.0.1', options);
  const pub = await RawClient.connect(port, pid + 1, '127.0.0.1', options);
  t.teardown(() => {
    sub.close();
    pub.close();
  });
  sub.register(SUB);
  sub.subscribe(SUB, 'event_name=GOOD');
  pub.register(PUB);
  // The subscription travels on another connection than the events: publish until one arrives.
  let first = null;
  for (let i = 0; i < 40 && !first; i++) {
    pub.publish(PUB, 'GOOD', 'info', 1);
    first = await sub.next(250);
  }
  if (!first) throw new Error('the honest subscriber never got an event');
  while (await sub.next(50)); // the other copies of the tries above
  /** One event published and received, in order. */
  const exchange = async (): Promise<boolean> => {
    const seq = pub.publish(PUB, 'GOOD', 'info', 1);
    return (await sub.next(30000))?.['event.seqnum'] === seq;
  };
  return { sub, pub, exchange };
}
