// A real FTB peer over TCP, speaking raw frames: the 1440-byte handshake answered by 100 bytes,
// then 1336-byte messages. Tests use it to talk to the agent byte for byte (replaying captures,
// fuzzing) without any crftb client code in between.
import net from 'node:net';

export const MESSAGE_SIZE = 1336;
export const HANDSHAKE_SIZE = 1440;
export const LOCATION_SIZE = 100;

export class RawPeer {
  readonly socket: net.Socket;
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
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
    while (this.buffer.length < size) {
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
    const out = this.buffer.subarray(0, size);
    this.buffer = this.buffer.subarray(size);
    return Buffer.from(out);
  }

  /** Handshake; resolves with the agent's 100-byte location id. */
  async handshake(bytes: Buffer, timeoutMs = 3000): Promise<Buffer | null> {
    this.write(bytes);
    return this.read(LOCATION_SIZE, timeoutMs);
  }

  pending(): number {
    return this.buffer.length;
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
