// Processes a test started, found through /proc: the children of a process (all its threads'),
// and the CRIU service a request of this test (or of a CLI it started) spawned, which a test may
// stop or kill to put the engine in a state it cannot reach by timing alone. A process is always
// taken by pid and start time together, so a reused pid is never mistaken for it.
import fs from 'node:fs';
import { waitFor } from './wait';

/** The children of `pid` (default: this process), across all its threads; [] once it is gone. */
export function childrenOf(pid: number = process.pid): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((task) =>
        fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
      );
  } catch {
    return [];
  }
}

/** The fields of /proc/PID/stat from the third (state) on, after the command name; [] once gone. */
export function statFields(pid: number): string[] {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return [];
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks); '' once the process is gone. */
export function startTime(pid: number): string {
  return statFields(pid)[19] ?? '';
}

// `criu swrk <fd>` while it starts (possibly through a loader: the provisioned criu runs via
// ld.so), then the title CRIU gives itself once it works ("criu: dump --rpc -t PID").
export function isCriuService(pid: number): boolean {
  try {
    const args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (args.some((a) => a.startsWith('criu: '))) return true;
    return args.includes('swrk') && args.some((a) => /(^|\/)criu$/.test(a));
  } catch {
    return false;
  }
}

export interface OwnProcess {
  pid: number;
  started: string;
}

/** The same process as when it was found (not a reuse of its pid), and still there. */
export function stillThere(p: OwnProcess): boolean {
  return startTime(p.pid) !== '' && startTime(p.pid) === p.started;
}

// A service started for a restore (native/cr/criu/service.cc starts it with --restore-sibling), not
// the engine probe's version query that may come first in a fresh process.
export function isRestoreService(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('--restore-sibling');
  } catch {
    return false;
  }
}

/**
 * A CRIU service that is a child of `parent`, was not among `before` (the parent's children
 * taken just before the request that spawns it) and passes `match`, or null.
 */
export function newCriuService(
  parent: number,
  before: Set<number>,
  match: (pid: number) => boolean = () => true,
): OwnProcess | null {
  const pid = childrenOf(parent).find((p) => !before.has(p) && isCriuService(p) && match(p));
  if (pid === undefined) return null;
  const started = startTime(pid);
  return started ? { pid, started } : null;
}

/**
 * Waits for newCriuService(parent, before, match) to find one; fails at once, saying how, if
 * `request` (what should start it) ends first.
 */
export async function criuServiceStarted(
  parent: number,
  before: Set<number>,
  options: { timeoutMs?: number; match?: (pid: number) => boolean; request?: PromiseLike<unknown> } = {},
): Promise<OwnProcess> {
  return foundBeforeEnd(
    `a CRIU service started by pid ${parent}`,
    () => newCriuService(parent, before, options.match),
    options.request,
    options.timeoutMs ?? 15000,
  );
}

/**
 * The CRIU service dumping `target`, a child of `parent`, or null: the target's tracer while the
 * dump has it seized (CRIU ptrace-seizes every process it dumps for the whole dump).
 */
export function dumpingService(target: number, parent: number): OwnProcess | null {
  let tracer = 0;
  try {
    tracer = Number(/^TracerPid:\s*(\d+)/m.exec(fs.readFileSync(`/proc/${target}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return null;
  }
  if (tracer === 0 || !childrenOf(parent).includes(tracer)) return null;
  const started = startTime(tracer);
  return started ? { pid: tracer, started } : null;
}

/**
 * Waits until a dump by a CRIU service of `parent` has `target` seized; that service. Given the
 * `request` that should cause the dump (a checkpoint() promise, a CLI's exit), fails as soon as it
 * settles first, with what it settled with, instead of waiting out the bound on a dump that will
 * never come.
 */
export async function dumpStarted(
  target: number,
  parent: number,
  request?: PromiseLike<unknown>,
  timeoutMs = 30000,
): Promise<OwnProcess> {
  return foundBeforeEnd(
    `a dump of pid ${target} by a CRIU service of pid ${parent}`,
    () => dumpingService(target, parent),
    request,
    timeoutMs,
  );
}

/**
 * Polls `find` until it finds a process, and returns it; fails after `timeoutMs`, or at once when
 * `request` (what should bring the process about) ends first, saying how it ended.
 */
async function foundBeforeEnd(
  what: string,
  find: () => OwnProcess | null,
  request: PromiseLike<unknown> | undefined,
  timeoutMs: number,
): Promise<OwnProcess> {
  const ended = watchEnd(request);
  let found: OwnProcess | null = null;
  await waitFor(
    what,
    () => {
      found = find();
      if (found === null && ended.how !== null)
        throw new Error(`the request ended before ${what} was seen: ${ended.how}`);
      return found !== null;
    },
    timeoutMs,
  );
  return found!;
}

/** How `request` ended (`how`), null while it has not (or when there is none). */
function watchEnd(request?: PromiseLike<unknown>): { how: string | null } {
  const ended: { how: string | null } = { how: null };
  request?.then(
    (value) => (ended.how = `it resolved with ${describe(value)}`),
    (error) => (ended.how = `it rejected with ${describe(error)}`),
  );
  return ended;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name} [${(value as NodeJS.ErrnoException).code}]: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
