// probeEngine(): the engine selection of checkpoint()/restart() without making a request, for
// `crftb doctor` and for programs that want to know up front which engine they will get — and,
// for CRIU, whether the binary a request would use passes `criu check` here (a CRIU that loads
// but fails its check, like Debian 12's 3.17 on kernel 6.x, would fail every dump).
import { checkOptionalObject } from '../check';
import { packageRoot } from '../native';
import type { EngineName } from './checkpoint';
import { cr, type CriuCheck, type CriuLocation, type EngineCapabilities } from './native';

export interface ProbeOptions {
  /** 'auto' (default) picks BLCR when its kernel interface answers, else CRIU. */
  engine?: EngineName;
  criu?: string;
  libcriu?: string;
  libcr?: string;
}

export interface ProbeResult extends EngineCapabilities {
  /**
   * Whether requests can work here as far as a probe can tell: for CRIU, that the binary passes
   * `criu check` (it needs root or CAP_CHECKPOINT_RESTORE too); BLCR has no such check.
   */
  works: boolean;
  /** CRIU only: the binary a request would use (the locator's choice) and its `criu check`. */
  criu?: CriuLocation & { check: CriuCheck };
}

/** Resolves to the capabilities of the engine that would be used; rejects with ENOSYS saying what to install. */
export async function probeEngine(options?: ProbeOptions): Promise<ProbeResult> {
  options = checkOptionalObject(options, 'probeEngine(options)');
  const caps = await cr.probeEngine({
    engine: options.engine,
    criu: options.criu,
    libcriu: options.libcriu,
    libcr: options.libcr,
    packageRoot,
  });
  if (caps.engine !== 'criu') return { ...caps, works: true };
  const location = cr.locateCriu(options.criu ?? '', packageRoot);
  const check = await cr.criuCheck(location.path);
  return {
    ...caps,
    selfCheckpoint: caps.selfCheckpoint && check.passed,
    works: check.passed,
    criu: { ...location, check },
  };
}
