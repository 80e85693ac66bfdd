import { EventEmitter } from 'node:events';
import type { ListenerEvents } from './listener-events';

/** The native side of a long-lived handle (docs/ARCHITECTURE.md, "Lifetime of native objects"). */
export interface NativeHandle {
  close(): Promise<void>;
  ref(): void;
  unref(): void;
}

/**
 * Base of the JS objects that front a native service whose work runs on native threads (Agent,
 * BootstrapServer). The native handle keeps the process alive while it runs; ref()/unref() only
 * pass the choice on, and close() is idempotent: every caller gets the same promise. `Events` types
 * the names and listener arguments of what the service emits.
 */
export abstract class NativeService<Events extends Record<keyof Events, unknown[]> = ListenerEvents>
  extends EventEmitter<Events>
  implements AsyncDisposable
{
  private closing: Promise<void> | null = null;

  protected abstract get handle(): NativeHandle;

  close(): Promise<void> {
    if (!this.closing) this.closing = this.handle.close();
    return this.closing;
  }

  /** `await using agent = await startAgent(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  ref(): this {
    this.handle.ref();
    return this;
  }

  unref(): this {
    this.handle.unref();
    return this;
  }
}
