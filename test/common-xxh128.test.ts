// The XXH3-128 checksum behind the checkpoint manifest (native/common/xxh128.cc, xxHash 0.8.1
// vendored in native/third_party/xxhash) against known answers of `xxhsum -H2` (Debian's xxhash
// 0.8.1), and - where xxhsum is installed - every length around XXH3's 16/128/240-byte and
// stripe edges against it. The AVX2 code (used where the CPU has it) and the portable code
// (forced by CRFTB_XXH128_PORTABLE=1) give the same digests.
import t from 'tap';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { cr } from '../lib/cr/native';
import { checksumsInChild } from './helpers/checksum-child';

const bytes = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));
const known: Array<[string, string | Buffer, string]> = [
  ['empty', '', '99aa06d3014798d86001c324468d497f'],
  ['abc', 'abc', '06b05ab6733a618578af5f94892f3950'],
  ['1000 a', 'a'.repeat(1000), 'b01da365eddaa29cb3e7af627147db7c'],
  ['one million a', 'a'.repeat(1000000), 'a545df8e384a9579b1fd6fae5285c4eb'],
  ['300,000 bytes i % 251', bytes(300000), 'b65af738c61b5fc15d12941f4cf541c5'],
];

t.test('known answers of xxhsum -H2', async (t) => {
  for (const [name, input, hex] of known) t.equal(cr.xxh128(input).hex, hex, name);
  t.equal(cr.xxh128(Buffer.alloc(0)).hex, known[0][2], 'an empty Buffer (its data pointer may be null)');
  t.comment(`implementation: ${cr.xxh128('').implementation}`);
});

t.test('the portable code forced gives the same digests, at every length around the stripe edges', async (t) => {
  const lengths = [...Array.from({ length: 1100 }, (_, n) => n), 4095, 4096, 65537, (1 << 20) + 13];
  const inputs = [...known.map(([, input]) => Buffer.from(input)), ...lengths.map((n) => crypto.randomBytes(n))];
  const portable = checksumsInChild(
    'xxh128',
    { CRFTB_XXH128_PORTABLE: '1' },
    inputs.map((b) => b.toString('hex')),
    true,
  );
  t.ok(
    portable.every((r) => r.implementation === 'portable'),
    'the child used the portable code',
  );
  known.forEach(([name, , hex], i) => t.equal(portable[i].hex, hex, `portable: ${name}`));
  const differ = inputs.filter((input, i) => cr.xxh128(input).hex !== portable[i].hex).map((b) => b.length);
  t.same(differ, [], `lengths where ${cr.xxh128('').implementation} and portable differ`);
});

function hasXxhsum(): boolean {
  try {
    execFileSync('xxhsum', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

t.test(
  'every length from 0 to 300 bytes and a few large ones match xxhsum',
  { skip: !hasXxhsum() && 'xxhsum is not installed (apt-get install xxhash)' },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-xxh128-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const lengths = [...Array.from({ length: 301 }, (_, n) => n), 1023, 1024, 1025, 4096, 65537, (1 << 20) + 13];
    const files = lengths.map((n) => {
      const file = path.join(dir, `len-${n}`);
      fs.writeFileSync(file, crypto.randomBytes(n));
      return file;
    });
    const theirs = new Map(
      execFileSync('xxhsum', ['-H2', ...files], { maxBuffer: 16 << 20 })
        .toString()
        .trim()
        .split('\n')
        .map((line) => line.split(/\s+/))
        .map(([hex, file]) => [file, hex]),
    );
    const mismatches = files.filter((file) => cr.xxh128(fs.readFileSync(file)).hex !== theirs.get(file));
    t.same(
      mismatches.map((f) => path.basename(f)),
      [],
    );
  },
);

t.test('bad input is EINVAL', async (t) => {
  t.throws(() => cr.xxh128(42 as never), { code: 'EINVAL' });
});
