import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { nativeInfo } from '../lib/index';

const root = path.join(__dirname, '..');

t.test('the addon loads and reports its build', async (t) => {
  const info = nativeInfo();
  t.equal(info.napiVersion, 8, 'Node-API version pinned in binding.gyp');
  t.equal(info.ftbMessageSize, 1336, 'FTB message layout compiled in');
  t.match(info.addonPath, /crftb\.node$/);
});

t.test('CommonJS and ESM entry points expose the same API', async (t) => {
  const cjs = execFileSync(process.execPath, ['-e', "console.log(Object.keys(require('crftb')).sort().join(','))"], {
    cwd: root,
  })
    .toString()
    .trim();
  const esm = execFileSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      "import * as m from 'crftb'; console.log(Object.keys(m).filter(k => k !== 'default' && k !== '__esModule').sort().join(','))",
    ],
    { cwd: root },
  )
    .toString()
    .trim();
  for (const name of [
    'nativeInfo',
    'checkpoint',
    'restart',
    'onCheckpoint',
    'criticalSection',
    'FtbClient',
    'startAgent',
    'startBootstrap',
    'LauncherNode',
    'JobCoordinator',
  ]) {
    t.ok(cjs.split(',').includes(name), `exports ${name}`);
  }
  t.equal(esm, cjs);
});

t.test('the CLI answers --help and rejects unknown commands with exit code 2', async (t) => {
  const bin = path.join(root, 'bin', 'crftb.js');
  const help = execFileSync(process.execPath, [bin, '--help']).toString();
  t.match(help, /doctor/);
  try {
    execFileSync(process.execPath, [bin, 'no-such-command'], { stdio: 'pipe' });
    t.fail('expected a usage error');
  } catch (error) {
    t.equal((error as { status: number }).status, 2);
  }
});
