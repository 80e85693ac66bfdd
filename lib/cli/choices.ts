// The values the CLI accepts for checkpoint/restart's enumerated options, typed against the API's
// own unions so a value added there without one here (or the reverse) fails to compile.
import type { ConnectionPolicy, EngineName, EngineTuningOptions, NetworkLock, RetryOptions } from '../cr';
import { choiceOption, integerOption } from './args';

type All<U extends string, L extends readonly U[]> = [U] extends [L[number]] ? L : never;
const all =
  <U extends string>() =>
  <L extends readonly U[]>(list: All<U, L>) =>
    list;

export const ENGINES = all<EngineName>()(['auto', 'criu', 'blcr'] as const);
export const CONNECTION_POLICIES = all<ConnectionPolicy>()(['close', 'keep', 'fail'] as const);
export const NETWORK_LOCKS = all<NetworkLock>()(['auto', 'iptables', 'nftables'] as const);

/** The flags of the CRIU option family that checkpoint and restart share (EngineTuningOptions). */
export const TUNING_FLAGS = {
  connections: { type: 'string' },
  'network-lock': { type: 'string' },
  'ext-unix-sockets': { type: 'boolean' },
  'shell-job': { type: 'boolean' },
} as const;

/** Those flags as options, each value checked. */
export function tuningOptions(values: {
  connections?: string;
  'network-lock'?: string;
  'ext-unix-sockets'?: boolean;
  'shell-job'?: boolean;
}): EngineTuningOptions {
  return {
    connections: choiceOption('connections', values.connections, CONNECTION_POLICIES),
    networkLock: choiceOption('network-lock', values['network-lock'], NETWORK_LOCKS),
    extUnixSockets: values['ext-unix-sockets'],
    shellJob: values['shell-job'],
  };
}

/** The retry flags of checkpoint and restart (RetryOptions); either one turns retries on. */
export const RETRY_FLAGS = {
  retries: { type: 'string' },
  'retry-delay': { type: 'string' },
} as const;

export const RETRY_USAGE = [
  '  --retries N            retry a refusal that passes by itself (code EAGAIN) up to N times (default 3 with --retry-delay)',
  '  --retry-delay MS       wait MS before the first retry, MS more before each next one (default 100)',
];

/** Those flags as the retry option (undefined when neither is given); each retry is reported on stderr. */
export function retryOption(
  values: { retries?: string; 'retry-delay'?: string },
  quiet: boolean,
): RetryOptions | undefined {
  if (values.retries === undefined && values['retry-delay'] === undefined) return undefined;
  return {
    retries: integerOption('retries', values.retries, 0, 100),
    delayMs: integerOption('retry-delay', values['retry-delay'], 0, 60_000),
    onRetry: quiet
      ? undefined
      : (error, retry) => process.stderr.write(`crftb: ${error.code}: ${error.message}; retry ${retry}\n`),
  };
}
