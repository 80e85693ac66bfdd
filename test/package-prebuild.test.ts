// Packs the package as npm would publish it, installs the tarball with --ignore-scripts (so
// nothing can compile) and proves the addon loads from the prebuild inside the tarball.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..');

// prebuildify compiles the whole addon again: allow for a slow, busy machine.
t.test('npm pack + install --ignore-scripts loads the prebuild', { timeout: 900_000 }, async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'crftb-pack-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  execFileSync('npm', ['run', 'prebuild'], { cwd: root, stdio: 'pipe' });
  const tarball = execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString().trim().split('\n').pop()!;
  const app = path.join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
  execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, tarball)], { cwd: app, stdio: 'pipe' });
  const loaded = execFileSync(process.execPath, ['-p', "require('crftb').nativeInfo().addonPath"], { cwd: app }).toString().trim();
  t.match(loaded, /node_modules\/crftb\/prebuilds\/linux-x64\/.*\.node$/, 'loaded from the prebuild, not a local build');
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "import { nativeInfo } from 'crftb'; console.log(nativeInfo().ftbMessageSize)"], { cwd: app }).toString().trim();
  t.equal(esm, '1336', 'the ESM entry works from the installed package');
});
