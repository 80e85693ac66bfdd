// Commands printed as advice must work from where the user is: `npx crftb …` in an app that
// depends on crftb, `node bin/crftb.js …` in a clone, an absolute path anywhere else.
import { realpathSync } from 'node:fs';
import path from 'node:path';

const packageRoot = path.join(__dirname, '..', '..');

function same(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Whether this copy of crftb is an installed dependency (inside some node_modules). */
export function isInstalled(): boolean {
  return packageRoot.split(path.sep).includes('node_modules');
}

/** The shell command that runs `crftb <args>` from the current directory. */
export function crftbCommand(args: string): string {
  if (same(path.join(process.cwd(), 'node_modules', 'crftb'), packageRoot)) return `npx crftb ${args}`;
  if (same(process.cwd(), packageRoot)) return `node bin/crftb.js ${args}`;
  return `node ${path.join(packageRoot, 'bin', 'crftb.js')} ${args}`;
}

/** How to get a loadable addon for this copy of crftb. */
export function rebuildAddonCommand(): string {
  if (same(process.cwd(), packageRoot)) return 'npm run build:native';
  if (isInstalled())
    return `npm rebuild crftb (in the app that depends on it; needs a C++17 compiler, make and python3)`;
  return `cd ${packageRoot} && npm run build:native`;
}
