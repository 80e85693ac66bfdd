// Holds a CRIU service a test's own request (or a CLI the test started) spawned, with SIGSTOP,
// so that what the test does next happens while the engine is at work for certain, however
// loaded the machine: a deadline, an abort or a Ctrl-C then always finds the engine unfinished.
import { processState } from './detached';
import { dumpingService, dumpStarted, stillThere, type OwnProcess } from './processes';
import { waitFor } from './wait';

export interface HeldService {
  pid: number;
  /** Still stopped (and still the same process): the engine has not answered. */
  held(): boolean;
  /** Lets it go on. */
  release(): void;
  /** It has ended (its pid is gone or another process's now). */
  gone(): boolean;
}

/** SIGSTOPs `service` and waits until it is stopped. */
export async function hold(service: OwnProcess): Promise<HeldService> {
  if (!stillThere(service)) throw new Error(`the CRIU service (pid ${service.pid}) ended before it could be held`);
  process.kill(service.pid, 'SIGSTOP');
  // A stop takes effect once the service leaves the system call it is in.
  await waitFor('the CRIU service to stop', () => processState(service.pid) === 'T');
  return {
    pid: service.pid,
    held: () => stillThere(service) && processState(service.pid) === 'T',
    release: () => {
      if (stillThere(service)) process.kill(service.pid, 'SIGCONT');
    },
    gone: () => !stillThere(service),
  };
}

/**
 * Holds the CRIU service of `parent` that is dumping `target`, found as the target's tracer: CRIU
 * keeps every process it dumps seized from the start of the dump to its end, so the service is
 * found that way for the whole dump and never confused with one that only probed the engine. (It
 * used to be looked for once pages were being written, and a 512 MiB dump on a loaded CI machine
 * once ended between those two looks.) Throws if the dump ended before the stop took effect, or if
 * `request` (what should cause the dump) ended before it was seen.
 */
export async function holdMidDump(
  target: number,
  parent: number,
  request?: PromiseLike<unknown>,
): Promise<HeldService> {
  const service = await dumpStarted(target, parent, request);
  const engine = await hold(service);
  if (dumpingService(target, parent)?.pid !== service.pid) {
    engine.release();
    throw new Error(`the dump of pid ${target} ended before its CRIU service (pid ${service.pid}) was held`);
  }
  return engine;
}
