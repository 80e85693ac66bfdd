// `crftb provision-criu`: a CRIU that passes `criu check`, installed where crftb always looks
// (criuCacheDir(): outside node_modules, so reinstalling the app's dependencies keeps it). The
// work is scripts/provision-criu.sh's, shipped in the package, the same script a clone uses.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { type Command, EXIT_OK } from '../command';
import { parseCommand } from '../args';

const usage = `Usage: crftb provision-criu [--json]

Makes a CRIU that passes 'criu check' available to crftb, idempotently: keeps the system's
criu when it passes, otherwise downloads Debian forky's CRIU 4.2.1 and its libraries from the
Debian registry into a private prefix. Installs into $CRFTB_CRIU_CACHE, else
/var/cache/crftb/criu for root, else $XDG_CACHE_HOME/crftb/criu (~/.cache/crftb/criu): the
places crftb always looks, which survive reinstalling node_modules. Needs root.

Options:
  --json   print {"criu": PATH, "cacheDir": DIR} (or the error) as JSON on stdout

Exit codes: 0 a working CRIU is available, 1 it could not be provided, 2 usage error.`;

export const provisionCriu: Command = {
  summary: 'Install a CRIU that works on this kernel where crftb finds it',
  usage,
  async run(args) {
    const { values } = parseCommand(args, { json: { type: 'boolean' } });
    const { criuCacheDir } = require('../../criu/locate') as typeof import('../../criu/locate');
    const cacheDir = criuCacheDir();
    const script = path.join(__dirname, '..', '..', '..', 'scripts', 'provision-criu.sh');
    const child = spawn('bash', [script], {
      env: { ...process.env, CRFTB_CRIU_CACHE: cacheDir },
      stdio: ['ignore', 'pipe', values.json ? 'pipe' : 'inherit'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    if (code !== 0) {
      const why = stderr.trim().split('\n').pop() || `scripts/provision-criu.sh exited ${code}`;
      throw Object.assign(
        new Error(`could not provision CRIU in ${cacheDir}${values.json ? `: ${why}` : ' (see above)'}`),
        { code: 'ENOSYS' },
      );
    }
    const criu = stdout.trim().split('\n').pop() ?? '';
    process.stdout.write(
      values.json ? `${JSON.stringify({ criu, cacheDir })}\n` : `CRIU ready: ${criu} (crftb finds it on its own)\n`,
    );
    return EXIT_OK;
  },
};
