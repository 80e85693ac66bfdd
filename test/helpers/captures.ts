// The FTB 0.6.2 captures and golden messages the conformance tests replay, kept in the repository
// (test/fixtures/ftb-0.6.2/captures: real FTB 0.6.2 traffic, recorded with the exact inputs its
// README lists), and the parsers for their decoded text and golden hex dumps.
import fs from 'node:fs';
import path from 'node:path';

const captures = path.join(__dirname, '..', 'fixtures', 'ftb-0.6.2', 'captures');

/** Directory of the captures; they are part of the repository, so a missing one is an error. */
export function capturesDir(): string {
  if (!fs.existsSync(path.join(captures, 'golden', 'INDEX.txt')))
    throw new Error(`FTB 0.6.2 captures missing from ${captures}`);
  return captures;
}

export interface Golden {
  file: string;
  number: number;
  raw: Buffer;
  normalized: Buffer;
  header: string[];
}

function hexBlock(lines: string[], title: RegExp): Buffer {
  const start = lines.findIndex((l) => title.test(l));
  if (start < 0) throw new Error(`no block ${title} in golden file`);
  const bytes: number[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!hexLine(line, bytes)) break;
  }
  return Buffer.from(bytes);
}

/** Appends the bytes of one `0000: 01 02 ... |..|` dump line (indentation allowed); false if it is not one. */
function hexLine(line: string, bytes: number[]): boolean {
  const m = /^\s*([0-9a-f]{4,}): ((?:[0-9a-f]{2} ?)+)/.exec(line);
  if (!m) return false;
  for (const hex of m[2].trim().split(/\s+/)) bytes.push(parseInt(hex, 16));
  return true;
}

/** One line of a capture's decoded.txt: a datagram, a TCP message, or a TCP event (SYN, FIN, RST, ...). */
export interface CaptureRecord {
  t: number;
  proto: 'UDP' | 'TCP';
  conn: number | null;
  from: { host: string; port: number };
  to: { host: string; port: number };
  /** Payload for datagrams and messages; null for TCP events. */
  bytes: Buffer | null;
  /** 'data', or the TCP event: 'SYN', 'SYN-ACK', 'FIN', 'RST', '(opened before capture)'. */
  what: string;
}

function endpoint(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

/** Every record of `NN_name.decoded.txt` in time order. */
export function readCapture(dir: string, name: string): CaptureRecord[] {
  const file = fs.readdirSync(dir).find((f) => f.startsWith(name) && f.endsWith('.decoded.txt'));
  if (!file) throw new Error(`no decoded capture ${name} in ${dir}`);
  const records: CaptureRecord[] = [];
  let current: (CaptureRecord & { hex: number[] }) | null = null;
  const finish = () => {
    if (current) records.push({ ...current, bytes: current.what === 'data' ? Buffer.from(current.hex) : null });
    current = null;
  };
  for (const line of fs.readFileSync(path.join(dir, file), 'latin1').split('\n')) {
    const head = /^t=\+([\d.]+)\s+(UDP|TCP)(?: conn#(\d+))? (\S+) -> (\S+)\s+(.*)$/.exec(line);
    if (head) {
      finish();
      const rest = head[6].trim();
      current = {
        t: Number(head[1]),
        proto: head[2] as 'UDP' | 'TCP',
        conn: head[3] ? Number(head[3]) : null,
        from: endpoint(head[4]),
        to: endpoint(head[5]),
        bytes: null,
        what: /^\d+ bytes$/.test(rest) ? 'data' : rest,
        hex: [],
      };
      continue;
    }
    if (current) hexLine(line, current.hex);
  }
  finish();
  return records;
}

export function readGoldens(dir: string): Golden[] {
  const golden = path.join(dir, 'golden');
  return fs
    .readdirSync(golden)
    .filter((f) => f.endsWith('.hex'))
    .sort()
    .map((file) => {
      const lines = fs.readFileSync(path.join(golden, file), 'latin1').split('\n');
      return {
        file,
        number: parseInt(file, 10),
        raw: hexBlock(lines, /^# raw/),
        normalized: hexBlock(lines, /^# normalized/),
        header: lines.filter((l) => l.startsWith('#')),
      };
    });
}

export function kindOfLength(length: number): 'message' | 'handshake' | 'location' | 'bootstrap' {
  switch (length) {
    case 1336:
      return 'message';
    case 1440:
      return 'handshake';
    case 100:
      return 'location';
    case 144:
      return 'bootstrap';
    default:
      throw new Error(`no FTB message is ${length} bytes long`);
  }
}
