// Signals to the processes a node checkpointed, for the job's second phase: they were left
// stopped (SIGSTOP) by their dump, and the coordinator's decision either kills them (after the
// whole job's images are committed) or lets them continue. Only pids from this node's own
// checkpoint results are ever signalled.
import { readFileSync } from 'node:fs';

export function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

// Dead: no such process, or a zombie (reaping it is its parent's business, as in checkpoint()).
function dead(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return true;
  }
}

/** SIGKILLs `pids` and resolves once all are dead, or after `timeoutMs` (false then). */
export async function killAndAwait(pids: readonly number[], timeoutMs = 2000): Promise<boolean> {
  signalAll(pids, 'SIGKILL');
  const deadline = Date.now() + timeoutMs;
  while (!pids.every(dead)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}
