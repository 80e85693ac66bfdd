// This machine has no BLCR (its kernel module stops at Linux 3.17 and no libcr.so.0 is
// installed): the BLCR engine must say so cleanly with ENOSYS and what to use instead.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cr as blcr } from '../lib/cr/native';
import { cannotBuild } from './fixtures/libcr-double/double';


const installed = spawnSync('sh', ['-c', 'ldconfig -p | grep -q "libcr\\.so\\.0 "']).status === 0;
const skipAbsent = installed || process.env.LD_LIBRARY_PATH?.includes('libcr') ? 'a libcr.so.0 is installed here' : undefined;

t.test('without libcr.so.0 every BLCR call rejects with ENOSYS saying what to install', { skip: skipAbsent }, async (t) => {
  const expected = {
    code: 'ENOSYS',
    errno: 38,
    message: /libcr\.so\.0 could not be loaded.*blcr kernel module.*libcr\.so\.0.*use engine 'criu'/,
  };
  await t.rejects(blcr.blcrProbe(), expected, 'probe');
  // The target is this test's own child, never an outside process; nothing reaches it anyway.
  const work = mkdtempSync(path.join(os.tmpdir(), 'crftb-blcr-absent-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  const child = execFileSync('sh', ['-c', 'sleep 30 >/dev/null 2>&1 & echo $!']).toString().trim();
  t.teardown(() => process.kill(Number(child), 'SIGKILL'));
  await t.rejects(blcr.blcrCheckpoint({ target: Number(child), path: path.join(work, 'c') }), expected, 'checkpoint');
  writeFileSync(path.join(work, 'ctx'), 'x');
  await t.rejects(blcr.blcrRestart({ path: path.join(work, 'ctx') }), expected, 'restart');
  await t.rejects(blcr.blcrProbe({ libraryPath: path.join(work, 'libcr.so.0') }), expected, 'an explicit path that does not exist');
});

t.test('a library that is not BLCR 0.8 libcr is refused with ELIBBAD', { skip: cannotBuild() }, async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crftb-not-libcr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const source = path.join(dir, 'not-libcr.c');
  writeFileSync(source, 'int cr_init(void) { return 0; }\n');
  const library = path.join(dir, 'libcr.so.0');
  execFileSync('cc', ['-shared', '-fPIC', '-o', library, source]);
  await t.rejects(blcr.blcrProbe({ libraryPath: library }), {
    code: 'ELIBBAD',
    errno: 80,
    message: /is not a BLCR 0\.8 libcr: it lacks cri_init_checkpoint_args_t, .*cr_reap_restart\. Install BLCR 0\.8\.x .* or use engine 'criu'/,
  });
});
