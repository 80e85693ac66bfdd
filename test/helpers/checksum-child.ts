// A checksum of the addon computed in a child process with an environment of its own: how the
// tests reach the portable code a CPU feature would otherwise select (CRFTB_SHA256_PORTABLE,
// CRFTB_XXH128_PORTABLE are read once per process).
import { execFileSync } from 'node:child_process';

/** binding.cr[hash] of each input (a string, or hex bytes when `hex`) in a child with `env`. */
export function checksumsInChild(
  hash: 'sha256' | 'xxh128',
  env: NodeJS.ProcessEnv,
  inputs: Array<string | Buffer>,
  hex = false,
): Array<{ hex: string; implementation: string }> {
  const script = `
    const { binding } = require(${JSON.stringify(require.resolve('../../lib/native'))});
    const inputs = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    console.log(JSON.stringify(inputs.map((s) => binding.cr.${hash}(${hex ? "Buffer.from(s, 'hex')" : 's'}))));`;
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript') || a === '--enable-source-maps');
  const out = execFileSync(process.execPath, [...loader, '-e', script], {
    input: JSON.stringify(inputs),
    env: { ...process.env, ...env },
    maxBuffer: 64 << 20,
  });
  return JSON.parse(out.toString());
}
