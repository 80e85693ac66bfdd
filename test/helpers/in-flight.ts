// A listener with a connection still waiting to be accepted, which CRIU refuses to dump ("in-flight
// connection", EAGAIN with skipInFlight: false) until the listener is told to accept it: a refusal
// that passes by itself, at a moment the test chooses.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Test } from 'tap';
import type { CrftbError, RetryOptions } from '../../lib/index';
import { fixtures, startDetached, waitFor } from './detached';

// Tells a FIFO's blocked reader to go on (non-blocking: fails rather than hangs if nobody reads).
export function release(fifo: string): void {
  const fd = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  fs.writeSync(fd, 'go\n');
  fs.closeSync(fd);
}

/**
 * `retry` options that retry every EAGAIN (each recorded in `refusals`, up to 50) and write into
 * `fifo` just before retry `n`, so its reader lets the refusal pass from then on.
 */
export function releaseBeforeRetry(fifo: string, n: number, refusals: CrftbError[]): RetryOptions {
  return {
    retries: 50,
    delayMs: 20,
    onRetry: (error, retry) => {
      refusals.push(error);
      if (retry === n) release(fifo);
    },
  };
}

export async function mkfifo(fifo: string): Promise<void> {
  await new Promise((resolve) => spawn('mkfifo', [fifo]).once('exit', resolve));
  if (!fs.statSync(fifo).isFIFO()) throw new Error(`mkfifo ${fifo} made no FIFO`);
}

/**
 * blocked-listener.js (detached, in `work`) whose JS thread is blocked, and a connection of this
 * test waiting in its listen queue (closed at `t`'s teardown). `release(go)` lets it accept.
 */
export async function listenerWithQueuedConnection(t: Test, work: string) {
  const go = path.join(work, 'go');
  await mkfifo(go);
  const listener = startDetached(path.join(fixtures, 'blocked-listener.js'), [work], work);
  await waitFor(
    'the listener',
    () => fs.existsSync(path.join(work, 'port')) && fs.readFileSync(path.join(work, 'port'), 'utf8') !== '',
    30000,
  );
  const port = Number(fs.readFileSync(path.join(work, 'port'), 'utf8'));
  const client = net.connect(port, '127.0.0.1').on('error', () => undefined);
  await new Promise((resolve) => client.once('connect', resolve));
  t.teardown(() => client.destroy());
  return { listener, go, counter: path.join(work, 'n') };
}
