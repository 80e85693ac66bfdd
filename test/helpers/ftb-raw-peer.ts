// A real FTB peer over TCP, speaking raw frames: the 1440-byte handshake answered by 100 bytes,
// then 1336-byte messages. Tests use it to talk to the agent byte for byte (replaying captures,
// fuzzing) without any crftb client code in between.
import net from 'node:net';

export const MESSAGE_SIZE = 1336;
export const HANDSHAKE_SIZE = 1440;
export const LOCATION_SIZE = 100;

export class RawPeer {
  readonly socket: net.Socket;
  // Received bytes as a queue of chunks (no re-copying of a large backlog on every arrival).
  private chunks: Buffer[] = [];
  private length = 0;
  private readonly onData = (chunk: Buffer) => {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.wake();
  };
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Next `size` bytes from the peer, or null on EOF / timeout. */
  async read(size: number, timeoutMs = 3000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    while (this.length < size) {
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const out = Buffer.alloc(size);
    for (let at = 0; at < size; ) {
      const head = this.chunks[0];
      const n = Math.min(head.length, size - at);
      head.copy(out, at, 0, n);
      at += n;
      if (n === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(n);
    }
    this.length -= size;
    return out;
  }

  /** Stops queueing received bytes (for callers that consume socket 'data' themselves). */
  stopQueueing(): void {
    this.socket.off('data', this.onData);
    this.chunks = [];
    this.length = 0;
  }

  /** Handshake; resolves with the agent's 100-byte location id. */
  async handshake(bytes: Buffer, timeoutMs = 3000): Promise<Buffer | null> {
    this.write(bytes);
    return this.read(LOCATION_SIZE, timeoutMs);
  }

  pending(): number {
    return this.length;
  }

  /** Resolves true once the agent has closed the connection. */
  async closedByPeer(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    return this.ended;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
