// Reads exact byte counts from a socket (for tests that play one side of the FTB protocol).
import type { Socket } from 'node:net';

export class StreamReader {
  private buffer = Buffer.alloc(0);
  private wanted: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  private ended = false;

  constructor(socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.pump();
    });
    socket.on('close', () => {
      this.ended = true;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.wanted) return;
    if (this.buffer.length >= this.wanted.n) {
      const out = this.buffer.subarray(0, this.wanted.n);
      this.buffer = this.buffer.subarray(this.wanted.n);
      const w = this.wanted;
      this.wanted = null;
      w.resolve(Buffer.from(out));
    } else if (this.ended) {
      const w = this.wanted;
      this.wanted = null;
      w.reject(new Error(`connection closed with ${this.buffer.length} of ${w.n} bytes`));
    }
  }

  read(n: number, timeoutMs = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wanted = null;
        reject(new Error(`timed out waiting for ${n} bytes`));
      }, timeoutMs);
      this.wanted = {
        n,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.pump();
    });
  }

  /** Resolves true when the peer closes within timeoutMs, with no further bytes. */
  async closed(timeoutMs = 5000): Promise<boolean> {
    const start = Date.now();
    while (!this.ended && Date.now() - start < timeoutMs) await new Promise((r) => setTimeout(r, 10));
    return this.ended && this.buffer.length === 0;
  }
}
