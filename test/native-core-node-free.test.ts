// The native core is free of Node (issue 13): every C++ file of native/ but the JS boundary -
// bindings (*_binding), js_* conversions, the export tables, the addon entry, and the child
// reaper that settles a promise - builds without Node's or node-addon-api's headers. Failures
// travel as common/failure.h values and become Errors only in common/js_error.h. Checked as: all
// core headers compile together with no Node include path, and no core source includes napi.h
// or a boundary header itself.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const root = path.join(__dirname, '..');
const boundary =
  /(_binding\.(cc|h)|\/js_\w+\.(cc|h)|\/exports\.(cc|h)|^native\/(addon|info)\.(cc|h)|\/child_reaper\.(cc|h)|\/bindings\.h|\/service_wrap\.h)$/;

function files(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return rel === 'native/fuzz' ? [] : files(rel);
    return /\.(cc|h)$/.test(entry.name) ? [rel] : [];
  });
}

t.test('the core builds without Node headers', async (t) => {
  const core = files('native')
    .filter((f) => !boundary.test(f))
    .sort();
  const headers = core.filter((f) => f.endsWith('.h'));
  const sources = core.filter((f) => f.endsWith('.cc'));
  t.ok(headers.length > 30 && sources.length > 40, `${headers.length} core headers, ${sources.length} core sources`);
  const unit = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-core-')), 'all-core-headers.cc');
  fs.writeFileSync(unit, headers.map((h) => `#include "${path.relative('native', h)}"\n`).join(''));
  t.doesNotThrow(
    () => execFileSync('g++', ['-std=c++17', '-fsyntax-only', '-Inative', unit], { cwd: root, stdio: 'pipe' }),
    'every core header compiles with no Node include path',
  );
  fs.rmSync(path.dirname(unit), { recursive: true, force: true });
  const offenders = sources.filter((f) =>
    /#include\s*[<"](napi\.h|node_api\.h|.*(_binding|js_\w+|exports|bindings|child_reaper|service_wrap|info)\.h)[>"]/.test(
      fs.readFileSync(path.join(root, f), 'utf8'),
    ),
  );
  t.same(offenders, [], 'no core source includes napi.h or a boundary header');
});
