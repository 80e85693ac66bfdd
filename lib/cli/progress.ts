// Progress of long work on a terminal: elapsed time and bytes written so far, redrawn in place
// on stderr. Silent when stderr is not a TTY, so scripts and --json output stay clean.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function bytesUnder(dir: string): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of entries) {
    try {
      const st = statSync(path.join(dir, name));
      total += st.isDirectory() ? bytesUnder(path.join(dir, name)) : st.size;
    } catch {
      // removed meanwhile
    }
  }
  return total;
}

/** Shows `label`, elapsed seconds and the bytes added under `watchDir` until the returned stop(). */
export function showProgress(label: string, watchDir?: string): () => void {
  if (!process.stderr.isTTY) return () => {};
  const started = Date.now();
  const before = watchDir ? bytesUnder(watchDir) : 0; // earlier checkpoints beside the new one
  const draw = () => {
    const mib = watchDir ? `, ${(Math.max(0, bytesUnder(watchDir) - before) / 1048576).toFixed(1)} MiB written` : '';
    process.stderr.write(`\r${label}: ${((Date.now() - started) / 1000).toFixed(1)} s${mib}   `);
  };
  const timer = setInterval(draw, 200);
  return () => {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  };
}
