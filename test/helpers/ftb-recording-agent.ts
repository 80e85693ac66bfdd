// A recording stand-in for an FTB agent: a listening TCP peer that answers the FTB handshake
// (PROTOCOL.md §6.2) and records every 1336-byte message it receives, for tests that check exactly
// what a client sends. It routes nothing. With `compact`, it takes a client's offer of compact
// frames as crftb's agent does (the codec is the addon's: ftbRules.compact), and records the
// messages those frames carry.
import net from 'node:net';
import { ftbRules, type WireObject } from '../../lib/ftb/native';

export interface RecordingAgent {
  port: number;
  messages: WireObject[];
  /** Per connection, in order: whether it was switched to compact frames. */
  compact: boolean[];
  connections: number;
  sockets: net.Socket[];
  close(): Promise<void>;
}

export const OFFER_AT = ftbRules.layout().Handshake.fields['registration.event.payload'][0];

export async function startRecordingAgent(options: { compact?: boolean } = {}): Promise<RecordingAgent> {
  const peer: RecordingAgent = {
    port: 0,
    messages: [],
    compact: [],
    connections: 0,
    sockets: [],
    close: async () => {},
  };
  const location = ftbRules.encode('location', {
    hostname: '127.0.0.1',
    pid_starttime: 'Thu_Jan_01_001_00:00:00',
    pid: 1,
  });
  const { mark, markInHostname } = ftbRules.compact;
  const accepted = Buffer.from(location);
  mark.copy(accepted, markInHostname);
  const server = net.createServer((socket) => {
    peer.connections++;
    peer.sockets.push(socket);
    let buffer = Buffer.alloc(0);
    let shaken = false;
    let compact = false;
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!shaken && buffer.length >= 1440) {
        shaken = true;
        compact = !!options.compact && buffer.subarray(OFFER_AT, OFFER_AT + mark.length).equals(mark);
        peer.compact.push(compact);
        buffer = buffer.subarray(1440);
        socket.write(compact ? accepted : location);
      }
      while (shaken && compact) {
        const d = ftbRules.compact.decode(buffer);
        if (d.outcome !== 'message') break;
        peer.messages.push(ftbRules.decode('message', d.message!));
        buffer = buffer.subarray(d.used);
      }
      while (shaken && !compact && buffer.length >= 1336) {
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
