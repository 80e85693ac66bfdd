// The checksum manifest written with every checkpoint, and the checks before a restart: images
// truncated, altered, added or removed after the checkpoint are refused with EBADMSG naming the
// file, a restart while the checkpointed process still runs is EBUSY naming the pid, and in every
// refused case nothing is restored. The same images then restore fine once put back, so the
// refusals are the check's doing, not broken images. A manifest of the earlier version (SHA-256)
// is still verified and restores; one of a version this crftb does not know is refused. Targets
// are detached children started here.
import t, { type Test } from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import { cr } from '../lib/cr/native';
import {
  adopt,
  alive,
  killStarted,
  readNumber,
  startCounter,
  startHeap,
  tempDir,
  waitFor,
  waitGone,
} from './helpers/detached';

t.teardown(killStarted);

const mode = (p: string) => fs.statSync(p).mode & 0o777;
const HEADER = 'crftb-manifest 3 xxh3-128/64MiB';
const SEGMENT = 64 << 20;

function manifestOf(dir: string): Map<string, { hash: string; size: number }> {
  const lines = fs.readFileSync(path.join(dir, 'crftb-manifest'), 'utf8').split('\n');
  const out = new Map<string, { hash: string; size: number }>();
  if (lines[0] !== HEADER) throw new Error(`bad manifest header ${lines[0]}`);
  for (const line of lines.slice(1).filter(Boolean)) {
    const [hash, size, name] = line.split(' ');
    out.set(name, { hash, size: Number(size) });
  }
  return out;
}

// Manifest versions crftb wrote before: version 2, XXH3-128 of each whole file; version 1, SHA-256
// (OpenSSL's here).
const VERSION_2 = { header: 'crftb-manifest 2 xxh3-128', digest: (data: Buffer) => cr.xxh128(data).hex };
const VERSION_1 = {
  header: 'crftb-manifest 1',
  digest: (data: Buffer) => crypto.createHash('sha256').update(data).digest('hex'),
};

/** Rewrites the manifest of `gen` in an earlier `version`; `alter` names a file hashed with its first bit flipped. */
function rewriteManifest(
  gen: string,
  manifest: Map<string, { size: number }>,
  version: typeof VERSION_1,
  alter?: string,
): void {
  let text = `${version.header}\n`;
  for (const [name, entry] of manifest) {
    const data = fs.readFileSync(path.join(gen, name));
    if (name === alter) data[0] ^= 1;
    text += `${version.digest(data)} ${entry.size} ${name}\n`;
  }
  fs.writeFileSync(path.join(gen, 'crftb-manifest'), text);
}

// Runs `change` on the images, expects restart to be refused with `expected`, puts the images back.
async function refused(
  t: Test,
  images: string,
  pid: number,
  what: string,
  change: () => () => void,
  expected: { code: string; errno?: number; message?: RegExp },
) {
  const undo = change();
  await t.rejects(restartDetailed({ dir: images }), expected, what);
  t.notOk(alive(pid), `${what}: nothing was restored`);
  undo();
}

t.test('a checkpoint writes a manifest of every image (0600, in a 0700 directory)', async (t) => {
  const work = tempDir('cr-manifest');
  const child = await startCounter(work);
  const images = path.join(work, 'images');
  const result = await checkpoint({ target: child.pid, dir: images });
  const gen = result.generation;
  t.equal(mode(gen), 0o700, 'generation directory 0700');
  t.equal(mode(`${images}.gens`), 0o700, 'generations directory 0700');
  t.equal(mode(path.join(gen, 'crftb-manifest')), 0o600, 'manifest 0600');
  t.equal(mode(path.join(gen, 'crftb-generation')), 0o600, 'generation record 0600');
  const manifest = manifestOf(gen);
  const files = fs.readdirSync(gen).filter((f) => fs.lstatSync(path.join(gen, f)).isFile());
  const expected = files.filter((f) => f !== 'crftb-manifest' && !f.endsWith('.log')).sort();
  t.same([...manifest.keys()].sort(), expected, 'every image file (and the generation record) is listed, logs are not');
  t.ok(manifest.has('inventory.img') && manifest.has('pstree.img'), 'CRIU images are among them');
  let mismatches = 0;
  for (const [name, entry] of manifest) {
    const data = fs.readFileSync(path.join(gen, name));
    if (data.length !== entry.size || cr.manifestChecksum(data).hex !== entry.hash) mismatches++;
    // Up to one segment, version 3 lists the XXH3-128 of the whole file, as version 2 did.
    if (data.length <= SEGMENT && cr.xxh128(data).hex !== entry.hash) mismatches++;
  }
  t.equal(mismatches, 0, 'sizes and XXH3-128 checksums agree with the whole files hashed at once');
  t.notOk(result.images.includes('crftb-manifest'), 'the manifest is not reported as an image');
  process.kill(child.pid, 'SIGKILL');
});

t.test(
  'restart refuses running originals and altered images, restores nothing, then restores the intact images',
  async (t) => {
    const work = tempDir('cr-manifest');
    const child = await startCounter(work);
    const { counter } = child;
    const images = path.join(work, 'images');
    const result = await checkpoint({ target: child.pid, dir: images });

    await t.rejects(
      restartDetailed({ dir: images }),
      {
        code: 'EBUSY',
        errno: -16,
        message: new RegExp(`pid ${child.pid} \\(node\\) is still running`),
      },
      'the original still runs: EBUSY naming its pid',
    );
    t.ok(alive(child.pid), 'the original is untouched');

    process.kill(child.pid, 'SIGKILL');
    await child.exited;
    await waitGone(child.pid);
    const atDump = readNumber(counter);
    const gen = result.generation;
    const manifest = manifestOf(gen);
    const pages = [...manifest.keys()].find((n) => /^pages-\d+\.img$/.test(n))!;
    const core = [...manifest.keys()].find((n) => /^core-\d+\.img$/.test(n))!;
    t.ok(pages && core, `images include ${pages} and ${core}`);

    const keep = (name: string) => {
      const file = path.join(gen, name);
      const saved = fs.readFileSync(file);
      return () => fs.writeFileSync(file, saved);
    };
    await refused(
      t,
      images,
      child.pid,
      'one flipped bit in the memory pages',
      () => {
        const undo = keep(pages);
        const fd = fs.openSync(path.join(gen, pages), 'r+');
        const byte = Buffer.alloc(1);
        const at = Math.floor(manifest.get(pages)!.size / 2);
        fs.readSync(fd, byte, 0, 1, at);
        byte[0] ^= 1;
        fs.writeSync(fd, byte, 0, 1, at);
        fs.closeSync(fd);
        return undo;
      },
      { code: 'EBADMSG', errno: -74, message: new RegExp(`${pages} does not match its XXH3-128 checksum`) },
    );
    // The manifest is verified while CRIU restores; CRIU restored these pages (a flipped bit is
    // still a valid image) and was stopped at its post-restore notification, where it kills what
    // it restored before any of it has run.
    t.match(
      fs.readFileSync(path.join(gen, 'restore.log'), 'utf8'),
      /Aborting restore due to post-restore/,
      'the flipped bit: CRIU was stopped at post-restore, before the restored process ran',
    );
    t.equal(readNumber(counter), atDump, 'the counter was not moved by a restored copy');
    await refused(
      t,
      images,
      child.pid,
      'a truncated core image',
      () => {
        const undo = keep(core);
        fs.truncateSync(path.join(gen, core), Math.floor(manifest.get(core)!.size / 2));
        return undo;
      },
      {
        code: 'EBADMSG',
        message: new RegExp(`${core} is \\d+ bytes, the manifest says ${manifest.get(core)!.size}: it was truncated`),
      },
    );
    await refused(
      t,
      images,
      child.pid,
      'a missing image',
      () => {
        const undo = keep('inventory.img');
        fs.unlinkSync(path.join(gen, 'inventory.img'));
        return undo;
      },
      { code: 'EBADMSG', message: /inventory\.img listed in the checkpoint manifest is missing/ },
    );
    await refused(
      t,
      images,
      child.pid,
      'an added file',
      () => {
        fs.writeFileSync(path.join(gen, 'pages-99.img'), 'x');
        return () => fs.unlinkSync(path.join(gen, 'pages-99.img'));
      },
      { code: 'EBADMSG', message: /pages-99\.img is not in the checkpoint manifest/ },
    );
    await refused(
      t,
      images,
      child.pid,
      'the manifest removed',
      () => {
        const undo = keep('crftb-manifest');
        fs.unlinkSync(path.join(gen, 'crftb-manifest'));
        return undo;
      },
      { code: 'EBADMSG', message: /has no checksum manifest/ },
    );
    await refused(
      t,
      images,
      child.pid,
      'a manifest line rewritten to escape the directory',
      () => {
        const undo = keep('crftb-manifest');
        const text = fs.readFileSync(path.join(gen, 'crftb-manifest'), 'utf8');
        fs.writeFileSync(path.join(gen, 'crftb-manifest'), text.replace(' inventory.img', ' ../../etc/passwd'));
        return undo;
      },
      { code: 'EBADMSG', message: /names a file outside its directory/ },
    );

    await refused(
      t,
      images,
      child.pid,
      'a manifest of a version this crftb does not know',
      () => {
        const undo = keep('crftb-manifest');
        const text = fs.readFileSync(path.join(gen, 'crftb-manifest'), 'utf8');
        fs.writeFileSync(path.join(gen, 'crftb-manifest'), text.replace(HEADER, 'crftb-manifest 3 none'));
        return undo;
      },
      { code: 'EBADMSG', message: /is not a crftb checkpoint manifest crftb can read/ },
    );

    await refused(
      t,
      images,
      child.pid,
      'a version 2 manifest whose XXH3-128 of the pages differs',
      () => {
        const undo = keep('crftb-manifest');
        rewriteManifest(gen, manifest, VERSION_2, pages);
        return undo;
      },
      { code: 'EBADMSG', message: new RegExp(`${pages} does not match its XXH3-128 checksum`) },
    );

    await refused(
      t,
      images,
      child.pid,
      'a version 1 manifest whose SHA-256 of the pages differs',
      () => {
        const undo = keep('crftb-manifest');
        rewriteManifest(gen, manifest, VERSION_1, pages);
        return undo;
      },
      { code: 'EBADMSG', message: new RegExp(`${pages} does not match its SHA-256`) },
    );
    rewriteManifest(gen, manifest, VERSION_1);

    const atKill = readNumber(counter);
    const restored = await restartDetailed({ dir: images });
    adopt(restored.pid);
    t.equal(restored.pid, child.pid, 'the intact images, under a version 1 (SHA-256) manifest, restore the same pid');
    await waitFor('the restored counter to move on', () => readNumber(counter) > atKill + 3);
    await t.rejects(restartDetailed({ dir: images }), { code: 'EBUSY' }, 'a second restart while the copy runs: EBUSY');
    process.kill(restored.pid, 'SIGKILL');
  },
);

t.test('images crftb did not write are left to the engine (no manifest needed)', async (t) => {
  const dir = tempDir('cr-manifest');
  fs.writeFileSync(path.join(dir, 'inventory.img'), 'not really an image');
  // No manifest and no generation record: the engine reads it and fails in its own way.
  const error = await restartDetailed({ dir }).then(
    () => null,
    (e) => e,
  );
  t.ok(error, 'the bogus image is refused');
  t.not(error.code, 'EBADMSG', `refused by the engine (${error.code}), not by the manifest check`);
});

t.test("version 3: a file over 64 MiB lists the XXH3-128 of its segments' digests", async (t) => {
  const data = crypto.randomBytes(SEGMENT * 2 + 12345);
  const segments = [0, 1, 2].map((i) =>
    Buffer.from(cr.xxh128(data.subarray(i * SEGMENT, (i + 1) * SEGMENT)).hex, 'hex'),
  );
  t.equal(cr.manifestChecksum(data).hex, cr.xxh128(Buffer.concat(segments)).hex, 'three segments, the last one short');
  t.equal(
    cr.manifestChecksum(data.subarray(0, SEGMENT)).hex,
    cr.xxh128(data.subarray(0, SEGMENT)).hex,
    "one whole segment: the file's own",
  );
  t.throws(() => cr.manifestChecksum('text' as never), { code: 'EINVAL' });
});

t.test(
  'a memory image of several segments: hashed in parallel, a byte changed in its last segment is refused, a version 2 manifest of it restores',
  async (t) => {
    const work = tempDir('cr-manifest');
    const child = await startHeap(work, 160);
    const images = path.join(work, 'images');
    const result = await checkpoint({ target: child.pid, dir: images, kill: true });
    const gen = result.generation;
    const manifest = manifestOf(gen);
    const [pages, entry] = [...manifest].find(([n, e]) => /^pages-\d+\.img$/.test(n) && e.size > 2 * SEGMENT)!;
    t.ok(pages, `${pages} holds ${entry.size} bytes: ${Math.ceil(entry.size / SEGMENT)} segments`);
    const file = path.join(gen, pages);
    t.equal(cr.manifestChecksum(fs.readFileSync(file)).hex, entry.hash, "its listed checksum is version 3's rule");
    await waitGone(child.pid);

    const fd = fs.openSync(file, 'r+');
    const at = entry.size - 100; // in the last segment
    const byte = Buffer.alloc(1);
    fs.readSync(fd, byte, 0, 1, at);
    fs.writeSync(fd, Buffer.from([byte[0] ^ 0x10]), 0, 1, at);
    await t.rejects(
      restartDetailed({ dir: images }),
      { code: 'EBADMSG', message: new RegExp(`${pages} does not match its XXH3-128 checksum`) },
      'one byte changed in the last segment: refused',
    );
    fs.writeSync(fd, byte, 0, 1, at);
    fs.closeSync(fd);

    rewriteManifest(gen, manifest, VERSION_2);
    const restored = await restartDetailed({ dir: images });
    adopt(restored.pid);
    t.equal(restored.pid, child.pid, 'the intact images restore under a version 2 manifest (XXH3-128 of whole files)');
    process.kill(restored.pid, 'SIGKILL');
  },
);
