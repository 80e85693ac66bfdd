// The codec against the 30 golden messages captured from real FTB 0.6.2: raw bytes (with FTB's
// garbage after NULs and in undefined fields) decode to the values the capture notes state, and
// normalized bytes decode and re-encode byte for byte.
import t from 'tap';
import { ftbRules } from '../lib/ftb/native';
import { capturesDir, kindOfLength, readGoldens } from './helpers/captures';

const dir = capturesDir();
const goldens = readGoldens(dir);
t.equal(goldens.length, 30, 'all 30 golden messages found');
for (const g of goldens) {
  t.test(g.file, async (t) => {
    const kind = kindOfLength(g.raw.length);
    t.equal(g.normalized.length, g.raw.length, 'raw and normalized have the same length');

    const normalized = ftbRules.decode(kind, g.normalized);
    const reencoded = ftbRules.encode(kind, normalized);
    t.ok(reencoded.equals(g.normalized), 'normalized bytes re-encode identically');

    const raw = ftbRules.decode(kind, g.raw);
    const header = g.header.join('\n');
    const msgType = /msg_type=0x([0-9a-f]+)/.exec(header);
    if (msgType) {
      const key = kind === 'handshake' ? 'registration.msg_type' : 'msg_type';
      t.equal(raw[key], parseInt(msgType[1], 16), 'msg_type as noted in the capture');
    }
    const bootType = /bootstrap type=(\d+)/.exec(header);
    if (bootType) t.equal(raw.type, Number(bootType[1]), 'bootstrap packet type');
    const firstLoc = /hostname='([^']*)' pid_starttime='([^']*)' pid=(\d+)/.exec(header);
    if (firstLoc) {
      const prefix = { message: 'src.location.', handshake: 'location.', location: '', bootstrap: '' }[kind];
      t.equal(raw[`${prefix}hostname`], firstLoc[1], 'first location hostname');
      t.equal(raw[`${prefix}pid_starttime`], firstLoc[2], 'first location start time');
      t.equal(raw[`${prefix}pid`], Number(firstLoc[3]), 'first location pid');
    }
    // Every field FTB defines for this message decodes the same from raw and normalized bytes:
    // src (all messages), plus the event strings of NOTIFY and subscription messages.
    for (const [key, value] of Object.entries(raw)) {
      const defined =
        kind === 'location' ||
        (kind === 'bootstrap' && (key === 'type' || key.startsWith('addr.'))) ||
        (kind === 'handshake' && (key.startsWith('location.') || key.startsWith('registration.src.'))) ||
        (kind === 'message' && key.startsWith('src.') && !key.endsWith('padding'));
      if (!defined) continue;
      t.same(value, normalized[key], `${key} agrees between raw and normalized`);
    }
    // normalize() zeroes only bytes after NULs and padding: applied to the normalized form it
    // changes nothing.
    t.ok(ftbRules.normalize(kind, g.normalized).equals(g.normalized), 'normalize is idempotent on normalized bytes');
  });
}

t.test('golden #15 decodes to Appendix A of PROTOCOL.md', async (t) => {
  const g = goldens.find((x) => x.number === 15)!;
  const m = ftbRules.decode('message', g.raw);
  t.match(m, {
    msg_type: 1,
    'src.location.hostname': '127.0.0.1',
    'src.location.pid': 13801,
    'src.client.region': 'FTB',
    'src.client.comp_cat': 'TEST',
    'src.client.comp': 'PUB',
    'src.client.client_name': 'pub1',
    'dst.location.pid': 13778,
    'dst.client.client_name': 'sub_poll',
    'event.event_name': 'TEST_EVENT',
    'event.severity': 'warning',
    'event.client_jobid': 'job42',
    'event.seqnum': 1,
    'event.event_type': 1,
  });
  const payload = m['event.payload'] as Buffer;
  t.equal(payload.length, 368);
  t.equal(payload.subarray(0, 9).toString(), 'hello-ftb');
  t.ok(
    payload.subarray(9).every((b) => b === 0),
    'rest of the payload is zero',
  );
});

t.test('encoding rejects strings that do not fit instead of truncating them', async (t) => {
  t.throws(() => ftbRules.encode('message', { 'event.client_name': 'x'.repeat(16) }), {
    code: 'FTB_ERR_INVALID_VALUE',
  });
  const ok = ftbRules.encode('message', { 'event.client_name': 'x'.repeat(15) });
  t.equal(ok.length, 1336);
  t.equal(ok.subarray(884, 899).toString(), 'x'.repeat(15));
  t.equal(ok[899], 0, 'NUL terminator kept');
});
