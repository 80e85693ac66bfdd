// Holding a checkpoint's commit open long enough to act in it: a version 1 manifest with the
// portable SHA-256 makes the commit hash hundreds of MiB of images for seconds, between the end
// of the dump and the images link moving. The generation's record is the commit's first write
// (the manifest follows once every image is hashed), so its appearance says the commit began.
import fs from 'node:fs';
import path from 'node:path';

/** The environment that slows the commit, for a crftb child process (the CLI). */
export const SLOW_COMMIT_ENV = { CRFTB_MANIFEST_SHA256: '1', CRFTB_SHA256_PORTABLE: '1' } as const;

/** Runs `request` with the commits of this process slowed (read by native code at each commit). */
export async function withSlowCommit<T>(request: () => Promise<T>): Promise<T> {
  Object.assign(process.env, SLOW_COMMIT_ENV);
  try {
    return await request();
  } finally {
    for (const name of Object.keys(SLOW_COMMIT_ENV)) delete process.env[name];
  }
}

/** Whether the commit of a generation of `images` other than `keep` has begun. */
export function commitBegun(images: string, keep?: string): boolean {
  const gens = `${images}.gens`;
  return (
    fs.existsSync(gens) &&
    fs
      .readdirSync(gens)
      .some((g) => path.join(gens, g) !== keep && fs.existsSync(path.join(gens, g, 'crftb-generation')))
  );
}
