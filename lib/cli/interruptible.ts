// Ctrl-C (SIGINT), SIGTERM and SIGHUP (its terminal or SSH session went away) during a long CLI
// request abort it through its AbortSignal instead of killing the CLI half-way: the request then
// leaves its processes running and removes its unfinished images (native/cr/request.h), and the
// CLI exits 130 (128 + SIGINT) only once the engine work the request started has ended, so
// nothing is left half-written. A request that succeeded is waited for the same way: its
// superseded images are removed in the background.
import { cr } from '../cr/native';

export const EXIT_INTERRUPTED = 130;

const INTERRUPTS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export async function interruptible<T>(
  work: (signal: AbortSignal) => Promise<T>,
): Promise<{ value?: T; error?: unknown; interrupted: boolean }> {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (!controller.signal.aborted) process.stderr.write(`crftb: ${name}: stopping; the processes are left running\n`);
    controller.abort(new Error(`interrupted by ${name}`));
  };
  for (const name of INTERRUPTS) process.on(name, onSignal);
  try {
    const value = await work(controller.signal);
    // Superseded images are removed after a checkpoint resolves (native/cr/images.cc): the CLI
    // exits once that is done, so the previous generation does not linger until the next one.
    await cr.drainAbandoned(-1);
    return { value, interrupted: controller.signal.aborted };
  } catch (error) {
    if (controller.signal.aborted) {
      // Said before the wait, which lasts as long as the engine's unfinished work (seconds for a
      // large dump), so a user who pressed Ctrl-C knows why the CLI has not exited yet.
      if (!(error as { committed?: boolean })?.committed)
        process.stderr.write('crftb: waiting for the engine to finish what it started, then cleaning up after it\n');
      await cr.drainAbandoned(-1);
    }
    return { error, interrupted: controller.signal.aborted };
  } finally {
    for (const name of INTERRUPTS) process.off(name, onSignal);
  }
}
