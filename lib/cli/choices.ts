// The values the CLI accepts for checkpoint/restart's enumerated options, typed against the API's
// own unions so a value added there without one here (or the reverse) fails to compile.
import type { ConnectionPolicy, EngineName, NetworkLock } from '../cr';

type All<U extends string, L extends readonly U[]> = [U] extends [L[number]] ? L : never;
const all = <U extends string>() => <L extends readonly U[]>(list: All<U, L>) => list;

export const ENGINES = all<EngineName>()(['auto', 'criu', 'blcr'] as const);
export const CONNECTION_POLICIES = all<ConnectionPolicy>()(['close', 'keep', 'fail'] as const);
export const NETWORK_LOCKS = all<NetworkLock>()(['auto', 'iptables', 'nftables'] as const);
