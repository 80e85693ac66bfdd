// Locates the FTB 0.6.2 captures shipped beside the repository and parses golden hex dumps.
import fs from 'node:fs';
import path from 'node:path';

const repoRoot = path.join(__dirname, '..', '..');

/** Directory of the captures, or null (tests then skip with a reason). */
export function capturesDir(): string | null {
  for (const dir of [path.resolve(repoRoot, '../shared/ftb/captures'), '/work/shared/ftb/captures']) {
    if (fs.existsSync(path.join(dir, 'golden', 'INDEX.txt'))) return dir;
  }
  return null;
}

export const capturesMissing = 'FTB captures not found (expected ../shared/ftb/captures or /work/shared/ftb/captures)';

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
    const m = /^([0-9a-f]{4,}): ((?:[0-9a-f]{2} ?)+)/.exec(line);
    if (!m) break;
    for (const hex of m[2].trim().split(/\s+/)) bytes.push(parseInt(hex, 16));
  }
  return Buffer.from(bytes);
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
