/**
 * What the long-running commands (agent, bootstrap, events) share: one output line per
 * happening — JSON objects with `--json` (for tests and machines), plain text otherwise — and a
 * clean stop on SIGINT/SIGTERM.
 */

/** The parseArgs options every service command takes, with one meaning: where to bind, FTB's
 * config file, and JSON lines. */
export const serviceOptions = {
  host: { type: 'string' },
  port: { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export type LineWriter = (event: string, fields: Record<string, unknown>, text: string) => void;

export function lineWriter(json: boolean): LineWriter {
  return (event, fields, text) => {
    process.stdout.write(json ? `${JSON.stringify({ event, ...fields })}\n` : `${text}\n`);
  };
}

/** Resolves with the signal name at the first SIGINT or SIGTERM; a second one exits at once. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (seen) process.exit(130);
      seen = true;
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
