import { EventEmitter } from 'node:events';
import type { ListenerEvents } from './listener-events';

/**
 * Base of the JS objects that front a native service whose work runs on its own native thread
 * (Agent, BootstrapServer): keeps the process alive until close() unless unref()'d, and makes
 * close() idempotent — every caller gets the same promise. Subclasses say how the native side
 * stops, and call holdProcess() once it runs: a service whose native side failed to start
 * holds nothing, so the process can still exit. `Events` types the names and listener arguments
 * of what the service emits.
 */
export abstract class NativeService<Events extends Record<keyof Events, unknown[]> = ListenerEvents> extends EventEmitter<Events> implements AsyncDisposable {
  private keepAlive: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  protected abstract stopNative(): Promise<void>;

  protected holdProcess(): void {
    this.keepAlive = setInterval(() => {}, 1 << 30);
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = this.stopNative().finally(() => {
        if (this.keepAlive) clearInterval(this.keepAlive);
        this.keepAlive = null;
      });
    }
    return this.closing;
  }

  /** `await using agent = await startAgent(...)` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  ref(): this {
    this.keepAlive?.ref();
    return this;
  }

  unref(): this {
    this.keepAlive?.unref();
    return this;
  }
}
