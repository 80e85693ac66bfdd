// A recording stand-in for an FTB agent: a listening TCP peer that answers the FTB handshake
// (PROTOCOL.md §6.2) and records every 1336-byte message it receives, for tests that check exactly
// what a client sends. It routes nothing.
import net from 'node:net';
import { ftbRules, type WireObject } from '../../lib/ftb/native';

export interface RecordingAgent {
  port: number;
  messages: WireObject[];
  connections: number;
  sockets: net.Socket[];
  close(): Promise<void>;
}

export async function startRecordingAgent(): Promise<RecordingAgent> {
  const peer: RecordingAgent = { port: 0, messages: [], connections: 0, sockets: [], close: async () => {} };
  const location = ftbRules.encode('location', {
    hostname: '127.0.0.1',
    pid_starttime: 'Thu_Jan_01_001_00:00:00',
    pid: 1,
  });
  const server = net.createServer((socket) => {
    peer.connections++;
    peer.sockets.push(socket);
    let buffer = Buffer.alloc(0);
    let shaken = false;
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!shaken && buffer.length >= 1440) {
        shaken = true;
        buffer = buffer.subarray(1440);
        socket.write(location);
      }
      while (shaken && buffer.length >= 1336) {
        peer.messages.push(ftbRules.decode('message', buffer.subarray(0, 1336)));
        buffer = buffer.subarray(1336);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  peer.port = (server.address() as net.AddressInfo).port;
  peer.close = () =>
    new Promise<void>((resolve) => {
      for (const s of peer.sockets) s.destroy();
      server.close(() => resolve());
    });
  return peer;
}
