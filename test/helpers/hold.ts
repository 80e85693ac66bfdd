// Holds a CRIU service a test's own request (or a CLI the test started) spawned, with SIGSTOP,
// so that what the test does next happens while the engine is at work for certain, however
// loaded the machine: a deadline, an abort or a Ctrl-C then always finds the engine unfinished.
import { dumping, processState } from './detached';
import { criuServiceStarted, stillThere, type OwnProcess } from './processes';
import { waitFor } from './wait';

export interface HeldService {
  /** Still stopped (and still the same process): the engine has not answered. */
  held(): boolean;
  /** Lets it go on. */
  release(): void;
  /** It has ended (its pid is gone or another process's now). */
  gone(): boolean;
}

/** SIGSTOPs `service` and waits until it is stopped. */
export async function hold(service: OwnProcess): Promise<HeldService> {
  process.kill(service.pid, 'SIGSTOP');
  // A stop takes effect once the service leaves the system call it is in.
  await waitFor('the CRIU service to stop', () => processState(service.pid) === 'T');
  return {
    held: () => stillThere(service) && processState(service.pid) === 'T',
    release: () => {
      if (stillThere(service)) process.kill(service.pid, 'SIGCONT');
    },
    gone: () => !stillThere(service),
  };
}

/**
 * Holds the CRIU service that `parent` spawned for a dump into `images` once it is writing pages
 * (`before`: the parent's children taken just before the request). At 512 MiB a dump on a busy CI
 * machine once ended before a test's abort reached it; held, it cannot.
 */
export async function holdMidDump(parent: number, before: Set<number>, images: string): Promise<HeldService> {
  // Looked for once pages are written: a service that probed the engine first has gone by then.
  await dumping(images);
  return hold(await criuServiceStarted(parent, before));
}
