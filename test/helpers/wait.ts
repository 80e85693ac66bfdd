// The one way a test waits: on state it can read, polled until true, with a bound that turns a
// hang into a failure naming what never happened. Never a sleep standing in for an event. The
// check runs once per round (a check may consume, e.g. poll()) and not again at the deadline.
export async function waitFor(what: string, check: () => boolean, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
