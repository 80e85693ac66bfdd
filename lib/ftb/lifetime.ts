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
