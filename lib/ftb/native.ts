// Typed view of the FTB parts of the addon (native/ftb/*_binding.cc). Only lib/ftb/ imports it.
import { binding } from '../native';

/** A wire struct as a flat object with dotted field names, e.g. `src.location.pid`. */
export type WireObject = Record<string, string | number | Buffer>;
export type WireKind = 'message' | 'handshake' | 'location' | 'bootstrap' | 'eventHandle' | 'event';

export interface LayoutEntry {
  size: number;
  align: number;
  /** field name → [offset, size] */
  fields: Record<string, [number, number]>;
}

export interface ResolvedConfig {
  agentPort: number;
  bootstrapPort: number;
  bootstrapServer: string | null;
  agentPortSource: string;
  bootstrapPortSource: string;
  bootstrapServerSource: string;
}

export interface ConfigOverrides {
  agentPort?: number;
  bootstrapPort?: number;
  bootstrapServer?: string;
  configFile?: string;
}

/** `binding.ftbRules`: FTB's rules as implemented once in C++ (codes, names, masks, codec). */
export interface FtbRulesBinding {
  layout(): Record<string, LayoutEntry>;
  /** crftb's compact frames between crftb peers (native/ftb/wire_compact.h). */
  compact: {
    /** What the offer and the acceptance carry (16 bytes, NUL included). */
    mark: Buffer;
    /** Where the acceptance puts `mark` in the location id's hostname field. */
    markInHostname: number;
    minFrame: number;
    maxFrame: number;
    /** One 1336-byte message → one frame. */
    encode(message: Buffer): Buffer;
    decode(bytes: Buffer): { outcome: 'message' | 'need-more' | 'malformed'; used: number; message?: Buffer };
  };
  decode(kind: WireKind, bytes: Buffer): WireObject;
  encode(kind: WireKind, value: WireObject): Buffer;
  normalize(kind: WireKind, bytes: Buffer): Buffer;
  codeName(code: number): string | null;
  parseEventSpace(space: string): { region: string; comp_cat: string; comp: string };
  /** Throws FTB's error for a bad style/space/name/jobid; returns the style number. */
  validateClient(style: string, eventSpace: string, clientName: string, jobId: string): number;
  validateDeclaration(name: string, severity: string): void;
  parseSubscription(text: string): WireObject;
  matches(event: WireObject, mask: WireObject): boolean;
  sameMask(a: WireObject, b: WireObject): { agent: boolean; libftbList: boolean };
  resolveConfig(env: Record<string, string>, overrides?: ConfigOverrides): ResolvedConfig;
  parseFtbAddress(text: string): string | null;
  formatStartTime(epochSeconds: number): string;
  processAddress(): string;
  compareIds(
    a: WireObject,
    b: WireObject,
  ): {
    sameFtbId: boolean;
    sameLocation: boolean;
    sameClientInProcess: boolean;
    aIsAgent: boolean;
    aIsManager: boolean;
  };
  managerClientId(ext: number): WireObject;
  bootstrapExchange(
    server: string,
    port: number,
    request: WireObject,
    attemptTimeoutsMs: number[] | null,
    wantReply: boolean,
  ): Promise<WireObject | null>;
}

export const ftbRules = binding.ftbRules as FtbRulesBinding;

/** One FTB client (native/ftb/client_binding.cc). */
export interface FtbClientNative {
  declare(events: { name: string; severity: string }[]): void;
  declareSchemaFile(path: string): void;
  publish(name: string, eventType: number, payload?: Buffer): Buffer;
  /**
   * Writes the 360-byte handle into `out` at `offset` instead of returning a new Buffer; true when
   * the message waits in the backlog until flushPublished() (the caller owes that call once its
   * run of JavaScript ends: a burst then costs one write and no I/O-thread wake-up).
   */
  publish(name: string, eventType: number, payload: Buffer | undefined, out: Buffer, offset: number): boolean;
  /** Writes what publish() left in the backlog; a no-op once closed. */
  flushPublished(): void;
  subscribe(text: string, withCallback: boolean): number;
  /** The oldest matching queued event as a 1336-byte received-event record, or null. */
  poll(subscriptionId: number): Buffer | null;
  unsubscribe(subscriptionId: number): void;
  close(): Promise<void>;
  stats(): import('./types').FtbClientStats;
  ref(): void;
  unref(): void;
}

export interface FtbClientNativeClass {
  connect(
    info: import('./types').FtbClientInfo,
    options: import('./types').FtbConnectOptions,
    /** Batches: subscription ids, their 1336-byte records back to back; `readable` = the polling queue got events. */
    onEvents: (subscriptionIds: Uint32Array | null, records: Buffer | null, readable: boolean) => void,
  ): Promise<FtbClientNative>;
  connectionStats(): import('./types').FtbConnectionStats;
  compareEventHandles(a: Buffer, b: Buffer): boolean;
  eventHandleOf(record: Buffer): Buffer | null;
}

export const FtbClientNativeClass = binding.FtbClientNative as FtbClientNativeClass;
