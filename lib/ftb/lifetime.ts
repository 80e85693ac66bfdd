import { EventEmitter } from 'node:events';

/**
 * Base of the JS objects that front a native service whose work runs on its own native thread
 * (Agent, BootstrapServer): keeps the process alive until close() unless unref()'d, and makes
 * close() idempotent — every caller gets the same promise. Subclasses say how the native side
 * stops, and call holdProcess() once it runs: a service whose native side failed to start
 * holds nothing, so the process can still exit.
 */
export abstract class NativeService extends EventEmitter implements AsyncDisposable {
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
