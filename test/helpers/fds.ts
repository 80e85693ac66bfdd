// This process's descriptor table, to show an operation leaked none: compared before and after,
// numbers and files both, not just counted.
import fs from 'node:fs';

/** fd number → what it refers to. */
export function fdTable(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, fs.readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      /* the directory's own fd, gone already */
    }
  }
  return out;
}
