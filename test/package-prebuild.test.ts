// Packs the package exactly as `npm pack` does (its prepack builds dist/ and the prebuild),
// installs that tarball into a fresh app with --ignore-scripts (so nothing can compile; its two
// dependencies come from the npm cache, else the registry) and uses
// it: the addon loads from the prebuild inside the tarball, CJS, ESM and the CLI work, the
// prebuild needs nothing newer than glibc 2.28 and no libstdc++, and a copy without a usable build makes
// `crftb doctor` say so with the fix instead of a stack trace.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..');

/**
 * The prebuild must load on glibc 2.28 (RHEL/Rocky 8): libstdc++ and libgcc are linked in
 * statically and every reference that would need a newer glibc symbol version is redirected by
 * native/compat/glibc_2_28.cc (binding.gyp's --wrap list), so none may be left. What this proves
 * is the symbol versions the dynamic loader checks; the addon is not run on a 2.28 system here.
 */
const NEWEST_GLIBC: [number, number] = [2, 28];

function versionNewer(v: string, than: [number, number]): boolean {
  const [major, minor] = v.replace('GLIBC_', '').split('.').map(Number);
  return major > than[0] || (major === than[0] && minor > than[1]);
}

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

// prepack compiles the whole addon again (prebuildify): allow for a slow, busy machine.
t.test('npm pack → install --ignore-scripts → use', { timeout: 900_000 }, async (t) => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'crftb-pack-'));
  t.teardown(() => rmSync(work, { recursive: true, force: true }));
  // prepack's build output comes first on stdout; npm's JSON report is the last thing printed.
  const report = npm(['pack', '--json', '--pack-destination', work], root);
  const [packed] = JSON.parse(report.slice(report.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  const tarball = path.join(work, packed.filename);
  const shipped = new Set(packed.files.map((f) => f.path));

  t.test('what the tarball holds', async (t) => {
    t.ok(
      shipped.has('dist/index.js') && shipped.has('dist/index.mjs') && shipped.has('dist/index.d.ts'),
      'dist/ is built by prepack',
    );
    t.ok(
      [...shipped].some((f) => /^prebuilds\/linux-x64\/.*glibc.*\.node$/.test(f)),
      'a prebuild tagged with its libc',
    );
    t.notOk(
      [...shipped].some((f) => f.startsWith('native/fuzz/')),
      'native/fuzz/ is not shipped',
    );
    t.ok(shipped.has('scripts/provision-criu.sh'), 'the CRIU provisioning script is shipped');
    const main = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).main.replace(/^\.\//, '');
    t.ok(shipped.has(main), `main (${main}) is in the package`);
    const missing: string[] = [];
    for (const map of [...shipped].filter((f) => f.endsWith('.map'))) {
      const { sources } = JSON.parse(execFileSync('tar', ['-xzOf', tarball, `package/${map}`]).toString()) as {
        sources: string[];
      };
      for (const source of sources) {
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(map), source));
        if (!shipped.has(target)) missing.push(`${map} → ${target}`);
      }
    }
    t.same(missing, [], 'every source map points at a file in the package');
  });

  const app = path.join(work, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), '{"name":"app","version":"1.0.0","private":true}');
  npm(['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], app);
  const installed = path.join(app, 'node_modules', 'crftb');

  t.test('the installed package loads its prebuild and works', async (t) => {
    const loaded = execFileSync(process.execPath, ['-p', "require('crftb').nativeInfo().addonPath"], { cwd: app })
      .toString()
      .trim();
    t.match(
      loaded,
      /node_modules\/crftb\/prebuilds\/linux-x64\/.*\.node$/,
      'loaded from the prebuild, not a local build',
    );
    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import { nativeInfo } from 'crftb'; console.log(nativeInfo().ftbMessageSize)"],
      { cwd: app },
    )
      .toString()
      .trim();
    t.equal(esm, '1336', 'the ESM entry works from the installed package');
    const version = execFileSync(path.join(app, 'node_modules', '.bin', 'crftb'), ['--version'], { cwd: app })
      .toString()
      .trim();
    t.equal(version, JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).version, 'the crftb bin runs');
    const doctor = spawnSync(path.join(app, 'node_modules', '.bin', 'crftb'), ['doctor', '--json'], {
      cwd: app,
      env: { ...process.env, FTB_AGENT_PORT: '1' },
    });
    const checks = JSON.parse(doctor.stdout.toString()) as { name: string; status: string; detail: string }[];
    t.match(
      checks.find((c) => c.name === 'addon'),
      { status: 'ok', detail: /prebuilds/ },
      'doctor finds the prebuild',
    );
    for (const c of checks)
      t.notMatch(c.detail, /scripts\/provision-criu\.sh/, `doctor's ${c.name} hint works from the app`);
  });

  t.test("the prebuild's glibc and libstdc++ needs", async (t) => {
    const dir = path.join(installed, 'prebuilds', 'linux-x64');
    const node = path.join(dir, readdirSync(dir).find((f) => f.endsWith('.node'))!);
    const dynamic = execFileSync('objdump', ['-T', node]).toString();
    t.notMatch(dynamic, /GLIBCXX_|CXXABI_|GCC_\d/, 'no libstdc++ or libgcc_s symbol versions (linked in statically)');
    const needed = execFileSync('objdump', ['-p', node]).toString();
    t.notMatch(needed, /NEEDED\s+libstdc\+\+/, 'libstdc++.so is not needed');
    const newer: Record<string, string> = {};
    for (const line of dynamic.split('\n')) {
      const m = /\((GLIBC_[\d.]+)\)\s+(\S+)$/.exec(line.trim());
      if (m && / \*UND\*/.test(line) && versionNewer(m[1], NEWEST_GLIBC)) newer[m[2]] = m[1];
    }
    t.same(newer, {}, 'no glibc symbol version newer than GLIBC_2.28');
    const libraries = [...needed.matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]).sort();
    t.same(
      libraries,
      ['ld-linux-x86-64.so.2', 'libc.so.6', 'libdl.so.2', 'libpthread.so.0'],
      'only glibc itself, naming libdl and libpthread where glibc < 2.34 keeps dlopen and pthread_create',
    );
  });

  t.test('a package without a usable build: doctor says so, with the fix', async (t) => {
    const bare = path.join(work, 'bare');
    mkdirSync(path.join(bare, 'node_modules'), { recursive: true });
    cpSync(path.join(app, 'node_modules'), path.join(bare, 'node_modules'), { recursive: true });
    rmSync(path.join(bare, 'node_modules', 'crftb', 'prebuilds'), { recursive: true, force: true });
    t.notOk(existsSync(path.join(bare, 'node_modules', 'crftb', 'build')), 'no local build either');
    const out = spawnSync(process.execPath, [path.join(bare, 'node_modules', 'crftb', 'bin', 'crftb.js'), 'doctor'], {
      cwd: bare,
    });
    t.equal(out.status, 1, 'doctor exits 1: nothing can work without the addon');
    t.match(out.stdout.toString(), /FAIL addon\s+not built\/not loadable .*fix: npm rebuild crftb/);
    t.notMatch(out.stderr.toString(), /\n\s+at /, 'no stack trace');
  });
});
