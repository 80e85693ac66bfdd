// The END/ERROR payloads of BLCR's FTB schema: BEGIN's 360-byte event handle at offset 0, then for
// ERROR a 4-byte errno in host byte order at 360, the rest of the 368 bytes zero.
import t from 'tap';
import net from 'node:net';
import { cr } from '../lib/cr/native';
import { checkpoint } from '../lib/index';
import { killStarted, startCounter, tempDir } from './helpers/detached';

t.teardown(killStarted);

function handle(): Buffer {
  const h = Buffer.alloc(360);
  h.write('CHKPT_BEGIN', 0);
  h.write('INFO', 32);
  h.write('FTB', 48);
  h.writeUInt16LE(4242, 258);
  h.write('host-a', 260);
  h.writeInt32LE(31337, 356);
  return h;
}

t.test('END payload is the BEGIN handle, zero-filled to 368 bytes', async (t) => {
  const p = cr.eventPayload('end', handle());
  t.equal(p.length, 368);
  t.same(p.subarray(0, 360), handle());
  t.same(p.subarray(360), Buffer.alloc(8));
});

t.test('ERROR payload is the BEGIN handle then the errno (int32, host order)', async (t) => {
  const p = cr.eventPayload('error', handle(), 38);
  t.same(p.subarray(0, 360), handle());
  t.equal(p.readInt32LE(360), 38);
  t.same(p.subarray(364), Buffer.alloc(4));
  t.equal(cr.eventPayload('error', handle(), -1).readInt32LE(360), -1);
});

t.test('bad payload input is EINVAL', async (t) => {
  t.throws(() => cr.eventPayload('end', Buffer.alloc(8)), { code: 'EINVAL' });
  t.throws(() => cr.eventPayload('begin' as never, handle()), { code: 'EINVAL' });
});

t.test(
  'with no FTB reachable, a failed request still fails with its own error and events are counted as dropped',
  async (t) => {
    // A free port nothing listens on (never FTB's default ports: other agents may run on them).
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const agentPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const ftb = { agentHost: '127.0.0.1', agentPort };
    const before = cr.publisherStats().dropped;
    const { pid: target } = await startCounter(tempDir('cr-payload')); // never asked for: the engine is missing
    await t.rejects(
      checkpoint({ engine: 'criu', libcriu: '/nonexistent/libcriu.so.2', target, dir: '/tmp/crftb-none', ftb }),
      { code: 'ENOSYS' },
    );
    t.equal(
      cr.publisherStats().dropped,
      before + 2,
      'the undeliverable BEGIN and its withheld ERROR were counted (no ERROR is sent without its BEGIN)',
    );
    await t.rejects(
      checkpoint({ engine: 'criu', libcriu: '/nonexistent/libcriu.so.2', target, dir: '/tmp/crftb-none', ftb: false }),
      { code: 'ENOSYS' },
    );
    t.equal(cr.publisherStats().dropped, before + 2, 'ftb: false publishes nothing and drops nothing');
  },
);
