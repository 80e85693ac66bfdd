// The FTB client for JavaScript: libftb's semantics (PROTOCOL.md §7, §10–§12) over the native
// client (native/ftb/client.h). Every rule (names, masks, codes) lives in C++; this file only
// shapes the API: promises for the blocking steps, subscriptions that are both EventEmitters and
// async iterators, explicit resource management.
import { EventEmitter } from 'node:events';
import { checkSignal, Interrupt } from '../abort';
import { checkInteger, checkObject, checkOptionalObject, checkOptionalString, checkString } from '../check';
import { codedError, type CrftbError } from '../errors';
import type { ListenerEvents } from './listener-events';
import { FtbClientNativeClass, type FtbClientNative } from './native';
import { FtbEventHandle, ReceivedEvent, RECORD_SIZE, type FtbReceivedEvent } from './event';
import {
  FTB_EVENT_HANDLE_SIZE,
  type FtbClientInfo,
  type FtbClientStats,
  type FtbConnectionStats,
  type FtbConnectOptions,
  type FtbEventDeclaration,
} from './types';

export * from './types';
export { FtbEventHandle, type FtbReceivedEvent } from './event';

export type SubscriptionKind = 'callback' | 'polling';

/** What a subscription emits, with its listeners' arguments. */
export interface FtbSubscriptionEvents extends ListenerEvents {
  /** A delivery (callback subscriptions). */
  event: [event: FtbReceivedEvent];
  /** The client's polling queue received something (polling subscriptions). */
  readable: [];
  /** The subscription ended (unsubscribe() or the client closed). */
  close: [];
  /** Made while the agent was away: stored and sent once connected (the error says why not now). */
  warning: [error: CrftbError];
}

/**
 * A subscription: emits 'event' for each delivery (callback subscriptions) and can be consumed
 * with `for await`. Polling subscriptions also offer poll(); iterating one polls whenever the
 * client's queue receives something.
 */
export class FtbSubscription extends EventEmitter<FtbSubscriptionEvents> implements AsyncIterable<FtbReceivedEvent> {
  private buffered: FtbReceivedEvent[] = [];
  private waiters: ((r: IteratorResult<FtbReceivedEvent>) => void)[] = [];
  private closed = false;
  /** Events an iterator-only consumer left behind beyond `iteratorBufferLimit` (dropped). */
  droppedByIterator = 0;
  iteratorBufferLimit = 65536;

  constructor(
    private readonly client: FtbClient,
    readonly id: number,
    readonly kind: SubscriptionKind,
    readonly subscription: string,
  ) {
    super();
    if (!(client instanceof FtbClient))
      throw codedError('EINVAL', 'an FtbSubscription is made by FtbClient.subscribe(), not by new');
  }

  get active(): boolean {
    return !this.closed;
  }

  /** FTB_Poll_event for this subscription: the oldest matching queued event, or null. */
  poll(): FtbReceivedEvent | null {
    return this.client.poll(this);
  }

  /** FTB_Unsubscribe. */
  unsubscribe(): void {
    if (this.closed) throw codedError('FTB_ERR_INVALID_HANDLE', 'subscription already cancelled', -9);
    this.client.unsubscribeNative(this);
  }

  /**
   * @internal Iterators are fed before listeners run, so a listener that throws (the exception
   * propagates to the caller, as EventEmitter's does) costs iterators nothing.
   */
  deliver(event: FtbReceivedEvent): void {
    if (this.closed) return;
    const waiter = this.waiters.shift();
    if (waiter) waiter({ value: event, done: false });
    else if (this.iterating > 0) {
      if (this.buffered.length >= this.iteratorBufferLimit) {
        this.buffered.shift();
        this.droppedByIterator++;
      }
      this.buffered.push(event);
    }
    this.emit('event', event);
  }

  /** @internal the client's polling queue got events: feed waiting iterators. */
  readable(): void {
    if (this.kind !== 'polling' || this.closed) return;
    while (this.waiters.length > 0) {
      const event = this.poll();
      if (!event) break;
      this.waiters.shift()!({ value: event, done: false });
    }
    this.emit('readable');
  }

  /** @internal */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter({ value: undefined, done: true });
    this.emit('close');
  }

  private iterating = 0;

  [Symbol.asyncIterator](): AsyncIterator<FtbReceivedEvent> {
    this.iterating++;
    this.client.refresh();
    const next = (): Promise<IteratorResult<FtbReceivedEvent>> => {
      const ready = this.buffered.shift() ?? (this.kind === 'polling' && !this.closed ? this.poll() : null);
      if (ready) return Promise.resolve({ value: ready, done: false });
      if (this.closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => {
        this.waiters.push(resolve);
        this.client.refresh();
      });
    };
    const stop = async (): Promise<IteratorResult<FtbReceivedEvent>> => {
      this.iterating--;
      this.client.refresh();
      return { value: undefined, done: true };
    };
    return { next, return: stop };
  }

  /** @internal: does this subscription need the process kept alive? */
  get waiting(): boolean {
    return !this.closed && (this.waiters.length > 0 || (this.kind === 'callback' && this.listenerCount('event') > 0));
  }
}

export interface PublishOptions {
  /** 1 (default) = event, 2 = response. */
  eventType?: number;
  /** ≤ 368 bytes; the rest is zero. */
  payload?: Buffer | Uint8Array | string;
}

export interface SubscribeOptions {
  /** Default: 'callback' when the client's style allows it, else 'polling'. */
  kind?: SubscriptionKind;
}

let handlePool = Buffer.allocUnsafeSlow(FTB_EVENT_HANDLE_SIZE * 64);
let handlePoolUsed = 0;

// Clients whose publishes wait in the backlog for the end of the current run of JavaScript
// (native publish() returned true): one write for the whole run, on this thread, in a microtask;
// and at process exit, so a publish just before process.exit() still goes out.
const owingFlush = new Set<FtbClientNative>();
function flushOwed(): void {
  for (const native of owingFlush) native.flushPublished();
  owingFlush.clear();
}
let exitHooked = false;
function oweFlush(native: FtbClientNative): void {
  if (owingFlush.size === 0) queueMicrotask(flushOwed);
  owingFlush.add(native);
  if (!exitHooked) {
    exitHooked = true;
    process.on('exit', flushOwed);
  }
}

/** One FTB client (FTB_Connect … FTB_Disconnect). All clients of a process share one connection. */
export class FtbClient {
  private native: FtbClientNative | null = null;
  private readonly subscriptions = new Map<number, FtbSubscription>();
  private connecting: Promise<this> | null = null;
  private refd = false;
  private listenerErrors = 0;

  constructor(
    readonly info: FtbClientInfo,
    readonly options: FtbConnectOptions = {},
  ) {
    // The addon would read these with ToString(): a client name 42 would become "42".
    checkObject(info, 'FTB client info');
    checkOptionalString(info.eventSpace ?? '', 'FTB client info eventSpace');
    for (const key of ['clientName', 'jobId', 'subscriptionStyle'] as const)
      checkOptionalString(info[key], `FTB client info ${key}`);
    checkInteger(info.pollingQueueLength, 'FTB client info pollingQueueLength', -(2 ** 31), 2 ** 31 - 1, 0);
    checkOptionalObject(options, 'FTB connect options');
  }

  /**
   * Connects a new client. `signal` aborts the connect: the call rejects with an AbortError at
   * once, and a connection that completes afterwards is closed, so an aborted connect leaves no
   * client behind.
   */
  static async connect(info: FtbClientInfo, options: FtbConnectOptions = {}, signal?: AbortSignal): Promise<FtbClient> {
    const client = new FtbClient(info, options);
    const interrupt = new Interrupt(undefined, checkSignal(signal, 'signal'), 'FTB connect');
    interrupt.check();
    const connecting = client.connect();
    return interrupt.race(connecting).catch((error: unknown) => {
      if (interrupt.happened())
        connecting.then(
          () => client.close(),
          () => undefined,
        );
      throw error;
    });
  }

  /** Process-wide connection state (shared by all clients). */
  static connectionStats(): FtbConnectionStats {
    return FtbClientNativeClass.connectionStats();
  }

  /** FTB_Connect: validates the client info, connects (bounded by connectTimeoutMs), registers. */
  connect(): Promise<this> {
    if (this.native) return Promise.resolve(this);
    if (!this.connecting) {
      this.connecting = FtbClientNativeClass.connect(this.info, this.options, (ids, records, readable) =>
        this.onNative(ids, records, readable),
      ).then(
        (native) => {
          this.native = native;
          this.connecting = null;
          return this;
        },
        (error: unknown) => {
          this.connecting = null;
          throw error;
        },
      );
    }
    return this.connecting;
  }

  get connected(): boolean {
    return this.native !== null;
  }

  private live(): FtbClientNative {
    if (!this.native)
      throw codedError(
        'FTB_ERR_INVALID_HANDLE',
        'FTB client is not connected (call connect() first, or it was closed)',
        -9,
      );
    return this.native;
  }

  /** FTB_Declare_publishable_events: an inline list, or `{ schemaFile }`. Nothing is sent. */
  declare(events: FtbEventDeclaration[] | { schemaFile: string }): void {
    const native = this.live();
    if (Array.isArray(events)) {
      events.forEach((e, i) => {
        checkObject(e, `declare(events): events[${i}]`);
        checkString(e.name, `declare(events): events[${i}].name`);
        checkString(e.severity, `declare(events): events[${i}].severity`);
      });
      native.declare(events);
    } else {
      native.declareSchemaFile(
        checkString(checkObject(events, 'declare(events)').schemaFile, 'declare({ schemaFile })'),
      );
    }
  }

  /** FTB_Publish: returns the event handle. Never waits for the network. */
  publish(name: string, options?: PublishOptions): FtbEventHandle {
    checkString(name, 'publish(name)');
    options = checkOptionalObject(options, 'publish(name, options)');
    const given = options.payload;
    if (given !== undefined && typeof given !== 'string' && !(given instanceof Uint8Array))
      throw codedError(
        'EINVAL',
        `publish(name, { payload }) must be a string, a Buffer or a Uint8Array (got ${typeof given})`,
      );
    const payload =
      given === undefined
        ? undefined
        : typeof given === 'string'
          ? Buffer.from(given)
          : Buffer.isBuffer(given)
            ? given
            : Buffer.from(given.buffer, given.byteOffset, given.byteLength);
    // Handles are views of a shared pool (as Buffer.from's small buffers are): one allocation
    // per 64 publishes instead of one each.
    if (handlePoolUsed + FTB_EVENT_HANDLE_SIZE > handlePool.length) {
      handlePool = Buffer.allocUnsafeSlow(FTB_EVENT_HANDLE_SIZE * 64);
      handlePoolUsed = 0;
    }
    const at = handlePoolUsed;
    const native = this.live();
    const owed = native.publish(
      name,
      checkInteger(options.eventType, 'publish(name, { eventType })', -(2 ** 31), 2 ** 31 - 1, 1),
      payload,
      handlePool,
      at,
    );
    handlePoolUsed += FTB_EVENT_HANDLE_SIZE;
    if (owed) oweFlush(native);
    return new FtbEventHandle(handlePool, at);
  }

  /** FTB_Subscribe with FTB's subscription-string syntax ('' = everything). */
  subscribe(subscription: string, options?: SubscribeOptions): FtbSubscription {
    const native = this.live();
    checkString(subscription, 'subscribe(subscription)');
    options = checkOptionalObject(options, 'subscribe(subscription, options)');
    if (options.kind !== undefined && options.kind !== 'callback' && options.kind !== 'polling')
      throw codedError(
        'EINVAL',
        `subscribe(subscription, { kind }) must be 'callback' or 'polling' (got ${String(options.kind)})`,
      );
    const style = String(this.info.subscriptionStyle ?? 'FTB_SUBSCRIPTION_NONE').toUpperCase();
    const kind =
      options.kind ??
      (style === 'FTB_SUBSCRIPTION_NOTIFY' || style === 'FTB_SUBSCRIPTION_BOTH' ? 'callback' : 'polling');
    let id: number;
    let notYetActive: CrftbError | null = null;
    try {
      id = native.subscribe(subscription, kind === 'callback');
    } catch (error) {
      const stored = (error as { subscriptionId?: number }).subscriptionId;
      if (stored === undefined) throw error;
      // Stored locally and re-sent after reconnecting; tell the caller it is not active yet.
      id = stored;
      notYetActive = error as CrftbError;
    }
    // One construction for both paths: the listener hooks are what keep the process alive while
    // someone listens, also for a subscription made while the agent was away.
    const sub = new FtbSubscription(this, id, kind, subscription);
    sub.on('newListener', () => queueMicrotask(() => this.refresh()));
    sub.on('removeListener', () => queueMicrotask(() => this.refresh()));
    this.subscriptions.set(id, sub);
    this.refresh();
    if (notYetActive) queueMicrotask(() => sub.emit('warning', notYetActive));
    return sub;
  }

  /** FTB_Poll_event. */
  poll(subscription: FtbSubscription): FtbReceivedEvent | null {
    const record = this.live().poll(subscription.id);
    return record ? new ReceivedEvent(record) : null;
  }

  /** @internal */
  unsubscribeNative(subscription: FtbSubscription): void {
    this.live().unsubscribe(subscription.id);
    this.subscriptions.delete(subscription.id);
    subscription.end();
    this.refresh();
  }

  stats(): FtbClientStats {
    return this.native ? { ...this.native.stats(), listenerErrors: this.listenerErrors } : { closed: true };
  }

  /** FTB_Disconnect. Ends every subscription. Idempotent. */
  async close(): Promise<void> {
    if (this.connecting) await this.connecting.catch(() => undefined);
    const native = this.native;
    if (!native) return;
    this.native = null;
    for (const sub of this.subscriptions.values()) sub.end();
    this.subscriptions.clear();
    await native.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal keeps the process alive only while someone waits for events. */
  refresh(): void {
    if (!this.native) return;
    let want = false;
    for (const sub of this.subscriptions.values()) want = want || sub.waiting;
    if (want !== this.refd) {
      this.refd = want;
      if (want) this.native.ref();
      else this.native.unref();
    }
  }

  // Called from native code with a batch of events. An exception thrown here would end the batch
  // and Node-API would only print a warning (DEP0168), so each listener's exception is caught,
  // counted, and rethrown on its own tick: it reaches 'uncaughtException' as an EventEmitter
  // listener's would, and the rest of the batch is still delivered.
  private onNative(ids: Uint32Array | null, records: Buffer | null, readable: boolean): void {
    if (ids && records) {
      for (let i = 0; i < ids.length; i++) {
        try {
          this.subscriptions.get(ids[i])?.deliver(new ReceivedEvent(records, i * RECORD_SIZE));
        } catch (error) {
          this.rethrow(error);
        }
      }
    }
    if (readable) {
      for (const sub of this.subscriptions.values()) {
        try {
          sub.readable();
        } catch (error) {
          this.rethrow(error);
        }
      }
    }
  }

  private rethrow(error: unknown): void {
    this.listenerErrors++;
    process.nextTick(() => {
      throw error;
    });
  }
}
