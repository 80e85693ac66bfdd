// The values the CLI accepts for checkpoint/restart's enumerated options, typed against the API's
// own unions so a value added there without one here (or the reverse) fails to compile.
import type { ConnectionPolicy, EngineName, EngineTuningOptions, NetworkLock } from '../cr';
import { choiceOption } from './args';

type All<U extends string, L extends readonly U[]> = [U] extends [L[number]] ? L : never;
const all = <U extends string>() => <L extends readonly U[]>(list: All<U, L>) => list;

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
