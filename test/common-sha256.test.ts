// The SHA-256 of version 1 checkpoint manifests (native/common/sha256.cc: written before XXH3-128
// and with CRFTB_MANIFEST_SHA256=1, still verified) against FIPS 180-4's
// published vectors, both block functions (SHA-NI and portable), and every length around the
// 55/56/64-byte padding edges compared with Node's OpenSSL.
import t from 'tap';
import crypto from 'node:crypto';
import { cr } from '../lib/cr/native';
import { checksumsInChild } from './helpers/checksum-child';

const nist: Array<[string, string | Buffer, string]> = [
  ['empty', '', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['abc', 'abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  [
    '448 bits',
    'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  ],
  [
    '896 bits',
    'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
    'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  ],
  ['one million a', 'a'.repeat(1000000), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0'],
];

t.test('NIST vectors in this process', async (t) => {
  for (const [name, input, hex] of nist) t.equal(cr.sha256(input).hex, hex, name);
  t.equal(cr.sha256(Buffer.alloc(0)).hex, nist[0][2], 'an empty Buffer (its data pointer may be null)');
  t.comment(`block function: ${cr.sha256('').implementation}`);
});

t.test('NIST vectors with the portable block function forced', async (t) => {
  const results = checksumsInChild(
    'sha256',
    { CRFTB_SHA256_PORTABLE: '1' },
    nist.map((v) => v[1]),
  );
  results.forEach((r, i) => {
    t.equal(r.implementation, 'portable');
    t.equal(r.hex, nist[i][2], nist[i][0]);
  });
});

t.test('every length from 0 to 300 bytes and a few large ones match OpenSSL', async (t) => {
  let mismatches = 0;
  for (let n = 0; n <= 300; n++) {
    const data = crypto.randomBytes(n);
    if (cr.sha256(data).hex !== crypto.createHash('sha256').update(data).digest('hex')) mismatches++;
  }
  for (const n of [4095, 4096, 65537, (1 << 20) + 13]) {
    const data = crypto.randomBytes(n);
    if (cr.sha256(data).hex !== crypto.createHash('sha256').update(data).digest('hex')) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('bad input is EINVAL', async (t) => {
  t.throws(() => cr.sha256(42 as never), { code: 'EINVAL' });
});
