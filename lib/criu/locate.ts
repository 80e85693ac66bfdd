import { packageRoot } from '../native';
import { cr, type CriuLocation } from '../cr/native';

export type { CriuLocation };

/**
 * The CRIU binary crftb uses: `explicitPath`, else $CRFTB_CRIU, else the first that passes
 * `criu check` of the wrapper scripts/provision-criu.sh made in a clone, the one
 * `crftb provision-criu` made in criuCacheDir(), and `criu` on PATH. The rule itself lives in the
 * addon (native/cr/criu_locator.cc). Throws ENOENT with what to install when there is none.
 */
export function locateCriu(explicitPath?: string): CriuLocation {
  return cr.locateCriu(explicitPath ?? '', packageRoot);
}

/**
 * Where `crftb provision-criu` installs CRIU, and the locator always looks: $CRFTB_CRIU_CACHE,
 * else /var/cache/crftb/criu for root, else $XDG_CACHE_HOME/crftb/criu or ~/.cache/crftb/criu.
 */
export function criuCacheDir(): string {
  return cr.criuCacheDir();
}
