// Received events: a view over the 1336-byte record the addon hands over (a wire message whose
// src holds the publisher's location and extension). Fields decode on first access, at the
// offsets the addon reports for its own structs, so the layout is stated only in native/ftb/wire.h.
import { codedError } from '../errors';
import { ftbRules, FtbClientNativeClass } from './native';
import type { FtbEvent } from './types';

export const RECORD_SIZE = 1336;

let fields: Record<string, [number, number]> | null = null;
function at(name: string): [number, number] {
  fields ??= ftbRules.layout().Message.fields;
  return fields[name];
}

/** FTB_event_handle_t: 360 bytes, travels at the start of type-2 payloads. */
export class FtbEventHandle {
  #source: Buffer;
  #offset: number;
  #view: Buffer | null = null;

  /**
   * The handle in `bytes` (360 of them), or at `offset` of a larger buffer (publish() writes
   * handles into a shared pool: the view is made only when someone asks for the bytes).
   */
  constructor(bytes: Buffer, offset?: number) {
    const whole = offset === undefined;
    if (whole ? bytes.length !== 360 : !(Number.isInteger(offset) && offset >= 0 && offset + 360 <= bytes.length)) {
      throw codedError('FTB_ERR_INVALID_HANDLE', 'an FTB event handle is 360 bytes', -9);
    }
    this.#source = bytes;
    this.#offset = offset ?? 0;
    if (whole) this.#view = bytes;
  }

  /** The 360 bytes (FTB_event_handle_t). */
  get bytes(): Buffer {
    this.#view ??= this.#source.subarray(this.#offset, this.#offset + 360);
    return this.#view;
  }

  private get decoded(): Record<string, string | number | Buffer> {
    return ftbRules.decode('eventHandle', this.bytes);
  }
  get eventName(): string {
    return this.decoded.event_name as string;
  }
  get severity(): string {
    return this.decoded.severity as string;
  }
  get seqnum(): number {
    return this.decoded.seqnum as number;
  }
  get space(): string {
    const d = this.decoded;
    return `${d['client.region']}.${d['client.comp_cat']}.${d['client.comp']}`;
  }
  get clientName(): string {
    return this.decoded['client.client_name'] as string;
  }
  get sourceHost(): string {
    return this.decoded['location.hostname'] as string;
  }
  get sourcePid(): number {
    return this.decoded['location.pid'] as number;
  }
  /** FTB_Compare_event_handles() == FTB_SUCCESS. */
  equals(other: FtbEventHandle | Buffer): boolean {
    return FtbClientNativeClass.compareEventHandles(this.bytes, other instanceof FtbEventHandle ? other.bytes : other);
  }
}

export interface FtbReceivedEvent extends Omit<FtbEvent, 'handle'> {
  handle: FtbEventHandle | null;
  /** The raw received-event record (1336 bytes). */
  readonly record: Buffer;
  /** The fields, without the payload and the record (JSON.stringify uses it). */
  toJSON(): Record<string, unknown>;
}

/** What a received event's toJSON() carries, in this order (the CLI's --json output). */
const JSON_FIELDS = [
  'space',
  'region',
  'category',
  'component',
  'name',
  'severity',
  'clientName',
  'jobId',
  'hostname',
  'clientExtension',
  'sourceHost',
  'sourcePid',
  'sourceStartTime',
  'seqnum',
  'eventType',
] as const;

export class ReceivedEvent implements FtbReceivedEvent {
  /**
   * The record at `base` of `batch` (a whole batch the addon handed over): no view is made until a
   * field asks for one, so a listener that reads only the payload costs one Buffer, not two.
   */
  constructor(
    private readonly batch: Buffer,
    private readonly base = 0,
  ) {}

  get record(): Buffer {
    return this.batch.subarray(this.base, this.base + RECORD_SIZE);
  }

  private str(name: string): string {
    const [field, size] = at(name);
    const bytes = this.batch.subarray(this.base + field, this.base + field + size);
    const end = bytes.indexOf(0); // a string that fills its field has no NUL: never read past it
    return bytes.toString('utf8', 0, end < 0 ? size : end);
  }
  private int(name: string): number {
    const [field, size] = at(name);
    const offset = this.base + field;
    if (size === 1) return this.batch.readUInt8(offset);
    if (size === 2) return this.batch.readUInt16LE(offset);
    return this.batch.readInt32LE(offset);
  }

  get region(): string {
    return this.str('event.region');
  }
  get category(): string {
    return this.str('event.comp_cat');
  }
  get component(): string {
    return this.str('event.comp');
  }
  get space(): string {
    return `${this.region}.${this.category}.${this.component}`;
  }
  get name(): string {
    return this.str('event.event_name');
  }
  get severity(): string {
    return this.str('event.severity');
  }
  get clientName(): string {
    return this.str('event.client_name');
  }
  get jobId(): string {
    return this.str('event.client_jobid');
  }
  get hostname(): string {
    return this.str('event.hostname');
  }
  get clientExtension(): number {
    return this.int('src.client.ext');
  }
  get sourceHost(): string {
    return this.str('src.location.hostname');
  }
  get sourcePid(): number {
    return this.int('src.location.pid');
  }
  get sourceStartTime(): string {
    return this.str('src.location.pid_starttime');
  }
  get seqnum(): number {
    return this.int('event.seqnum');
  }
  get eventType(): number {
    return this.int('event.event_type');
  }
  /** All 368 payload bytes (a view of the record). */
  get payload(): Buffer {
    const [field, size] = at('event.payload');
    return this.batch.subarray(this.base + field, this.base + field + size);
  }
  /** FTB_Get_event_handle; null when the event space does not parse. */
  get handle(): FtbEventHandle | null {
    const bytes = FtbClientNativeClass.eventHandleOf(this.record);
    return bytes ? new FtbEventHandle(bytes) : null;
  }
  toJSON(): Record<string, unknown> {
    return Object.fromEntries(JSON_FIELDS.map((field) => [field, this[field]]));
  }
}
