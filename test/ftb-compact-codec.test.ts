// crftb's compact frames (README, "Compact frames"; native/ftb/wire_compact.h), through the
// addon's one codec: every message FTB's framing can carry comes back whole from a frame
// (strings that fill their field without a NUL, all 368 payload bytes, trailing zeros
// included), a frame cut anywhere asks for more, and what no encoder writes is refused as
// malformed, never read past its end.
import t from 'tap';
import crypto from 'node:crypto';
import { ftbRules } from '../lib/ftb/native';

const { compact } = ftbRules;
const layout = ftbRules.layout().Message;
const fields = layout.fields as Record<string, [number, number]>;
const STRINGS = Object.entries(fields).filter(
  ([name, [, size]]) => size >= 16 && !name.endsWith('payload') && !name.endsWith('padding'),
);
const PAYLOAD = fields['event.payload'];

/** Bytes of a message as a receiver relies on them: padding zeroed, as a frame delivers it. */
function significant(message: Buffer): Buffer {
  const out = Buffer.from(message);
  for (const [name, [offset, size]] of Object.entries(fields))
    if (name.endsWith('padding')) out.fill(0, offset, offset + size);
  return out;
}

/** A random message: each string empty, short, or filling its field (no NUL). */
function randomMessage(): Buffer {
  const m = Buffer.alloc(layout.size);
  m.writeInt32LE(crypto.randomInt(0, 0x30), 0);
  for (const [, [offset, size]] of STRINGS) {
    const n = [0, crypto.randomInt(1, size), size][crypto.randomInt(0, 3)];
    for (let i = 0; i < n; i++) m[offset + i] = crypto.randomInt(1, 256);
  }
  for (const name of ['src.location.pid', 'dst.location.pid'])
    m.writeInt32LE(crypto.randomInt(-(2 ** 31), 2 ** 31), fields[name][0]);
  for (const name of ['src.client.ext', 'dst.client.ext', 'event.event_type'])
    m[fields[name][0]] = crypto.randomInt(0, 256);
  m.writeUInt16LE(crypto.randomInt(0, 65536), fields['event.seqnum'][0]);
  const used = [0, crypto.randomInt(1, PAYLOAD[1]), PAYLOAD[1]][crypto.randomInt(0, 3)];
  crypto.randomFillSync(m, PAYLOAD[0], used);
  if (used > 1) m[PAYLOAD[0] + used - 2] = 0; // a zero inside the payload is kept
  return m;
}

t.test('frame bounds and the mark are what the addon reports', async (t) => {
  t.equal(compact.mark.length, 16);
  t.equal(compact.mark.at(-1), 0, 'the mark ends with its NUL');
  t.ok(compact.markInHostname + compact.mark.length <= fields['src.location.hostname'][1]);
  t.equal(
    compact.encode(Buffer.alloc(layout.size)).length,
    compact.minFrame,
    'an all-zero message is the smallest frame',
  );
  const full = Buffer.alloc(layout.size, 0x41);
  t.equal(compact.encode(full).length, compact.maxFrame, 'every field full is the largest');
});

t.test('2,000 random messages: each frame decodes to the message, padding zeroed', async (t) => {
  let bad = 0;
  const stream: Buffer[] = [];
  const messages: Buffer[] = [];
  for (let i = 0; i < 2000; i++) {
    const m = randomMessage();
    const frame = compact.encode(m);
    const d = compact.decode(frame);
    if (d.outcome !== 'message' || d.used !== frame.length || !d.message!.equals(significant(m))) bad++;
    stream.push(frame);
    messages.push(m);
  }
  t.equal(bad, 0, 'every message came back');
  // As a reader sees them: concatenated, taken one frame at a time.
  let bytes = Buffer.concat(stream);
  let i = 0;
  for (;;) {
    const d = compact.decode(bytes);
    if (d.outcome !== 'message') break;
    if (!d.message!.equals(significant(messages[i++]))) bad++;
    bytes = bytes.subarray(d.used);
  }
  t.equal(i, 2000, 'the stream holds 2,000 frames');
  t.equal(bad, 0, 'in order and whole');
  t.equal(bytes.length, 0, 'nothing left over');
});

t.test('a frame cut anywhere asks for more (knowing its length once two bytes are in)', async (t) => {
  const frame = compact.encode(randomMessage());
  let wrong = 0;
  for (let n = 0; n < frame.length; n++) {
    const d = compact.decode(frame.subarray(0, n));
    if (d.outcome !== 'need-more' || d.used !== (n < 2 ? 0 : frame.length)) wrong++;
  }
  t.equal(wrong, 0, `every one of the ${frame.length} prefixes`);
});

t.test('what no encoder writes is malformed', async (t) => {
  const good = compact.encode(randomMessage());
  const withLength = (frame: Buffer, length: number) => {
    const out = Buffer.from(frame);
    out.writeUInt16LE(length, 0);
    return out;
  };
  t.equal(
    compact.decode(withLength(good, compact.minFrame - 1)).outcome,
    'malformed',
    'length below the smallest frame',
  );
  t.equal(compact.decode(withLength(good, compact.maxFrame + 1)).outcome, 'malformed', 'length above the largest');
  t.equal(compact.decode(withLength(good, 0xffff)).outcome, 'malformed', '65535');
  const longer = Buffer.concat([withLength(good, good.length + 3), Buffer.alloc(3)]);
  t.equal(compact.decode(longer).outcome, 'malformed', 'bytes after the last field');
  const shorter = withLength(good.subarray(0, good.length - 1), good.length - 1);
  t.equal(compact.decode(shorter).outcome, 'malformed', 'the last field cut by the length');
  // The first string (src.location.hostname, 64 bytes) claiming 65.
  const empty = compact.encode(Buffer.alloc(layout.size));
  const tooLong = Buffer.concat([empty.subarray(0, 6), Buffer.from([65]), Buffer.alloc(65), empty.subarray(7)]);
  tooLong.writeUInt16LE(tooLong.length, 0);
  t.equal(compact.decode(tooLong).outcome, 'malformed', 'a string longer than its field');
  const withNul = Buffer.concat([empty.subarray(0, 6), Buffer.from([3, 0x41, 0, 0x42]), empty.subarray(7)]);
  withNul.writeUInt16LE(withNul.length, 0);
  t.equal(compact.decode(withNul).outcome, 'malformed', 'a NUL inside a string');
  const payloadTooLong = Buffer.concat([
    empty.subarray(0, empty.length - 2),
    Buffer.from([0x71, 0x01]),
    Buffer.alloc(369),
  ]);
  payloadTooLong.writeUInt16LE(payloadTooLong.length, 0);
  t.equal(compact.decode(payloadTooLong).outcome, 'malformed', 'a payload of 369 bytes');
});

t.test('random and damaged frames: never a crash, and whatever decodes encodes to the same message', async (t) => {
  let decoded = 0;
  let wrong = 0;
  for (let i = 0; i < 20000; i++) {
    // Half random bytes, half valid frames with a few bytes changed (so fields get read).
    let bytes: Buffer;
    if (i % 2 === 0) bytes = crypto.randomBytes(crypto.randomInt(0, 1500));
    else {
      bytes = compact.encode(randomMessage());
      for (let k = crypto.randomInt(1, 4); k > 0; k--)
        bytes[crypto.randomInt(0, bytes.length)] = crypto.randomInt(0, 256);
    }
    const d = compact.decode(bytes);
    if (d.outcome !== 'message') continue;
    decoded++;
    const again = compact.decode(compact.encode(d.message!));
    if (again.outcome !== 'message' || !again.message!.equals(d.message!)) wrong++;
  }
  t.equal(wrong, 0, `${decoded} random frames decoded; each re-encodes to the same message`);
});

t.test('the codec refuses what is not a message', async (t) => {
  t.throws(() => compact.encode(Buffer.alloc(10)), { code: 'ERR_INVALID_ARG_VALUE' });
  t.throws(() => compact.decode('x' as unknown as Buffer), { code: 'ERR_INVALID_ARG_TYPE' });
});
