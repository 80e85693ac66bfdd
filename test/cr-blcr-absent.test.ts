// This machine has no BLCR (its kernel module stops at Linux 3.17 and no libcr.so.0 is
// installed): the BLCR engine must say so cleanly with ENOSYS and what to use instead, and
// engine 'auto' must fall back to CRIU.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkpoint, probeEngine, restart } from '../lib/index';
import { cannotBuild } from './helpers/libcr-double';

const installed = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libcr\\.so\\.0 "']).status === 0;
const skipAbsent =
  installed || process.env.LD_LIBRARY_PATH?.includes('libcr') ? 'a libcr.so.0 is installed here' : undefined;

t.test(
  'without libcr.so.0 the blcr engine rejects with ENOSYS saying what to install',
  { skip: skipAbsent },
  async (t) => {
    const expected = {
      code: 'ENOSYS',
      errno: -38,
      message: /libcr\.so\.0 could not be loaded.*blcr kernel module.*libcr\.so\.0.*use engine 'criu'/,
    };
    await t.rejects(probeEngine({ engine: 'blcr' }), expected, 'probe');
    const work = mkdtempSync(path.join(os.tmpdir(), 'crftb-blcr-absent-'));
    t.teardown(() => rmSync(work, { recursive: true, force: true }));
    // The target is this test's own child; nothing reaches it anyway.
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    t.teardown(() => child.kill('SIGKILL'));
    await t.rejects(
      checkpoint({ engine: 'blcr', target: child.pid, file: path.join(work, 'c'), ftb: false }),
      expected,
      'checkpoint',
    );
    writeFileSync(path.join(work, 'ctx'), 'x');
    await t.rejects(restart({ engine: 'blcr', file: path.join(work, 'ctx'), ftb: false }), expected, 'restart');
    await t.rejects(
      probeEngine({ engine: 'blcr', libcr: path.join(work, 'libcr.so.0') }),
      expected,
      'an explicit path that does not exist',
    );
  },
);

t.test("'auto' falls back to CRIU when BLCR is absent", { skip: skipAbsent }, async (t) => {
  const criu = await probeEngine({ engine: 'criu' }).catch((error: Error) => error);
  if (criu instanceof Error) {
    await t.rejects(
      probeEngine(),
      { code: 'ENOSYS', message: /blcr: .*libcr\.so\.0.*criu: / },
      'neither engine: ENOSYS naming both',
    );
    return;
  }
  t.same(await probeEngine(), criu, "'auto' resolves to the CRIU engine");
  t.same(await probeEngine({ engine: 'auto' }), criu);
});

t.test('a library that is not BLCR 0.8 libcr is refused with ELIBBAD', { skip: cannotBuild() }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crftb-not-libcr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const source = path.join(dir, 'not-libcr.c');
  writeFileSync(source, 'int cr_init(void) { return 0; }\n');
  const library = path.join(dir, 'libcr.so.0');
  execFileSync('cc', ['-shared', '-fPIC', '-o', library, source]);
  await t.rejects(probeEngine({ engine: 'blcr', libcr: library }), {
    code: 'ELIBBAD',
    errno: -80,
    message:
      /is not a BLCR 0\.8 libcr: it lacks cri_init_checkpoint_args_t, .*cr_reap_restart\. Install BLCR 0\.8\.x .* or use engine 'criu'/,
  });
});
