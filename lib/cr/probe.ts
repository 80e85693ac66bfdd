// probeEngine(): the engine selection of checkpoint()/restart() without making a request, for
// `crftb doctor` and for programs that want to know up front which engine they will get.
import { packageRoot } from '../native';
import type { EngineName } from './checkpoint';
import { cr, EngineCapabilities } from './native';

export interface ProbeOptions {
  /** 'auto' (default) picks BLCR when its kernel interface answers, else CRIU. */
  engine?: EngineName;
  criu?: string;
  libcriu?: string;
  libcr?: string;
}

/** Resolves to the capabilities of the engine that would be used; rejects with ENOSYS saying what to install. */
export function probeEngine(options: ProbeOptions = {}): Promise<EngineCapabilities> {
  return cr.probeEngine({ engine: options.engine, criu: options.criu, libcriu: options.libcriu, libcr: options.libcr, packageRoot });
}
