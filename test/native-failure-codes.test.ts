// How native code makes and reads failure codes (issue 13), checked over the source: a system
// error is made by Failure::System or Failure::FromErrno, which take the errno and name it, so
// every EINVAL (and every other errno name) carries its number; and a failure's code is compared
// as a value (Failure::Is with an errno or an FTB return code, Failure::aborted), never as a
// spelled-out string that a typo would silently never match.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..');

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return rel === 'native/third_party' ? [] : sources(rel);
    return /\.(cc|h)$/.test(entry.name) ? [rel] : [];
  });
}

function matches(pattern: RegExp): string[] {
  return sources('native').flatMap((file) =>
    fs
      .readFileSync(path.join(root, file), 'utf8')
      .split('\n')
      .flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
  );
}

t.test('system errors are made with their errno', async (t) => {
  t.same(matches(/Coded\(\s*"E[A-Z0-9]+"/), [], 'no Failure::Coded("E...") or ThrowCoded(env, "E...")');
  const outsideFailure = matches(/Coded\(\s*ErrnoName\(/).filter((hit) => !hit.startsWith('native/common/failure.cc:'));
  t.same(outsideFailure, [], 'no Failure::Coded(ErrnoName(err), ...) but Failure::System itself');
});

t.test('failure codes are compared as values', async (t) => {
  t.same(matches(/\bcode\s*[!=]=\s*"|"\s*[!=]=\s*\w+(\.|->)code\b/), [], 'no code == "..." comparison');
});
