// A small tmpfs for a test's images, to make a file system fill up: mounted in the test's own
// temp dir (needs root), unmounted at the test's end.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { checkpoint } from '../../lib/index';

export const notRoot = process.getuid?.() !== 0 ? 'mounting a small tmpfs needs root' : false;

/** How many bytes of images a checkpoint of `pid` writes now (made in `work`, then removed). */
export async function imageBytes(pid: number, work: string): Promise<number> {
  const probe = await checkpoint({ target: pid, dir: path.join(work, 'probe'), ftb: false });
  fs.rmSync(path.join(work, 'probe.gens'), { recursive: true });
  fs.rmSync(path.join(work, 'probe'));
  return probe.bytes;
}

/** A tmpfs of `bytes` at <work>/small-fs, unmounted at `t`'s teardown; its path. */
export function mountSmallFs(t: Test, work: string, bytes: number): string {
  const mnt = path.join(work, 'small-fs');
  fs.mkdirSync(mnt);
  execFileSync('mount', [
    '-t',
    'tmpfs',
    '-o',
    `size=${Math.ceil(bytes / 1024)}k,mode=0700`,
    `crftb-test-${process.pid}`,
    mnt,
  ]);
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', mnt]);
    } catch {
      /* already gone */
    }
  });
  return mnt;
}

/** Writes into `file` until its file system is full; the bytes it took. */
export function fill(file: string): number {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20, 1);
  let written = 0;
  try {
    for (;;) written += fs.writeSync(fd, chunk); // a short write when nearly full, then ENOSPC
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    fs.closeSync(fd);
  }
  return written;
}
