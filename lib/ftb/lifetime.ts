import { EventEmitter } from 'node:events';

/**
 * The JS-side lifetime of a native service (agent, bootstrap server) whose work runs on its own
 * native thread: keeps the process alive until close() unless unref()'d, and makes close()
 * idempotent — every caller gets the same promise.
 */
export class ServiceLifetime {
  private keepAlive: NodeJS.Timeout | null = setInterval(() => {}, 1 << 30);
  private closing: Promise<void> | null = null;

  close(stop: () => Promise<void>): Promise<void> {
    if (!this.closing) {
      this.closing = stop().finally(() => {
        if (this.keepAlive) clearInterval(this.keepAlive);
        this.keepAlive = null;
      });
    }
    return this.closing;
  }

  ref(): void {
    this.keepAlive?.ref();
  }

  unref(): void {
    this.keepAlive?.unref();
  }
}

/**
 * Base of the JS objects that front a native service (Agent, BootstrapServer): close() once for
 * every caller, ref()/unref() on the keep-alive. Subclasses say how the native side stops.
 */
export abstract class NativeService extends EventEmitter {
  private readonly lifetime = new ServiceLifetime();

  protected abstract stopNative(): Promise<void>;

  close(): Promise<void> {
    return this.lifetime.close(() => this.stopNative());
  }

  ref(): this {
    this.lifetime.ref();
    return this;
  }

  unref(): this {
    this.lifetime.unref();
    return this;
  }
}
