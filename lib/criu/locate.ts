import { packageRoot } from '../native';
import { cr, CriuLocation } from '../cr/native';

export type { CriuLocation };

/**
 * The CRIU binary crftb uses: `explicitPath`, else $CRFTB_CRIU, else the wrapper made by
 * scripts/provision-criu.sh, else `criu` on PATH. The rule itself lives in the addon
 * (native/cr/criu_locator.cc). Throws ENOENT with what to install when there is none.
 */
export function locateCriu(explicitPath?: string): CriuLocation {
  return cr.locateCriu(explicitPath ?? '', packageRoot);
}
