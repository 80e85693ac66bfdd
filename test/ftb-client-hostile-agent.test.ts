// FTB has no authentication and its port is unprivileged: whoever listens on it is "the agent"
// for every checkpointing process. This one completes the handshake and then sends hostile
// bytes — random frames, a flood to a client that cannot take events, strings with no NUL and a
// severity FTB does not have, NOTIFYs for clients that do not exist, half a frame and silence —
// and finally hangs up. The client must not crash or over-read: well-formed events still reach
// their subscriber with every string within its field, garbage is counted (connectionStats
// ignored/unaddressed), the half frame dies with its connection, the client reconnects, and a
// checkpoint running meanwhile finishes with its events published or counted as dropped. Both
// readers are covered: the I/O thread (a polling subscriber) and the JS thread (a listener).
import t from 'tap';
import crypto from 'node:crypto';
import path from 'node:path';
import { checkpoint, publisherStats } from '../lib/index';
import { FtbClient, type FtbReceivedEvent, type FtbSubscription } from '../lib/ftb/client';
import { ftbRules } from '../lib/ftb/native';
import { killStarted, startCounter, tempDir } from './helpers/detached';
import { MESSAGE_SIZE } from './helpers/ftb-raw-peer';
import { startRecordingAgent } from './helpers/ftb-recording-agent';
import { waitFor } from './helpers/wait';

t.teardown(killStarted);

const fields = ftbRules.layout().Message.fields as Record<string, [number, number]>;
const STRING_FIELDS: [keyof FtbReceivedEvent, string][] = [
  ['region', 'event.region'],
  ['category', 'event.comp_cat'],
  ['component', 'event.comp'],
  ['name', 'event.event_name'],
  ['severity', 'event.severity'],
  ['jobId', 'event.client_jobid'],
  ['clientName', 'event.client_name'],
  ['hostname', 'event.hostname'],
  ['sourceHost', 'src.location.hostname'],
  ['sourceStartTime', 'src.location.pid_starttime'],
];

/** A raw frame: strings written as given and cut at their field size (a full field has no NUL). */
function frame(values: Record<string, string | number>, base: Buffer = Buffer.alloc(MESSAGE_SIZE)): Buffer {
  const out = Buffer.from(base);
  for (const [name, value] of Object.entries(values)) {
    const [offset, size] = fields[name];
    if (typeof value === 'string') {
      out.fill(0, offset, offset + size);
      out.write(value, offset, size, 'latin1');
    } else if (size === 1) out.writeUInt8(value, offset);
    else if (size === 2) out.writeUInt16LE(value, offset);
    else out.writeInt32LE(value, offset);
  }
  return out;
}

interface Who {
  space: string;
  name: string;
  ext?: number;
}

function dst(who: Who): Record<string, string | number> {
  const [region, category, component] = who.space.split('.');
  return {
    'dst.client.region': region,
    'dst.client.comp_cat': category,
    'dst.client.comp': component,
    'dst.client.client_name': who.name,
    'dst.client.ext': who.ext ?? 0,
  };
}

/** A well-formed NOTIFY from a made-up publisher, addressed to `to`. */
function notify(to: Who, eventName: string, seqnum = 1): Buffer {
  return frame({
    msg_type: 1,
    'src.location.hostname': '127.0.0.9',
    'src.location.pid_starttime': 'Thu_Jan_01_001_00:00:00',
    'src.location.pid': 4242,
    ...dst(to),
    'event.region': 'HOSTILE',
    'event.comp_cat': 'AGENT',
    'event.comp': 'TEST',
    'event.event_name': eventName,
    'event.severity': 'info',
    'event.client_name': 'evil',
    'event.hostname': '127.0.0.9',
    'event.seqnum': seqnum,
    'event.event_type': 1,
  });
}

function saneFields(event: FtbReceivedEvent): string | null {
  if (event.record.length !== MESSAGE_SIZE) return `record of ${event.record.length} bytes`;
  for (const [key, field] of STRING_FIELDS) {
    const value = event[key] as string;
    if (typeof value !== 'string' || value.length > fields[field][1])
      return `${key} over its ${fields[field][1]} bytes`;
  }
  if (event.payload.length !== 368) return 'payload not 368 bytes';
  event.toJSON();
  void event.handle; // null or a handle: the space of a hostile event need not parse
  return null;
}

// One agent for the file: the checkpoint's publisher keeps the process' one FTB connection, so
// every client of this process must name the same agent.
const hostile = startRecordingAgent();
t.teardown(async () => (await hostile).close());

for (const reader of ['io', 'js'] as const) {
  t.test(`a hostile agent, ${reader === 'io' ? 'the I/O thread' : 'the JS thread'} reading`, async (t) => {
    const agent = await hostile;
    const options = { agentHost: '127.0.0.1', agentPort: agent.port, reconnectInitialMs: 5, reconnectMaxMs: 50 };
    const subWho: Who = { space: `CRFTB.HOSTILE.${reader.toUpperCase()}`, name: 'sub' };
    const pubWho: Who = { space: `CRFTB.HOSTILE.${reader.toUpperCase()}`, name: 'pubonly' };
    const subscriber = await FtbClient.connect(
      {
        eventSpace: subWho.space,
        clientName: subWho.name,
        subscriptionStyle: reader === 'io' ? 'FTB_SUBSCRIPTION_POLLING' : 'FTB_SUBSCRIPTION_NOTIFY',
        pollingQueueLength: 4096,
      },
      options,
    );
    t.teardown(() => subscriber.close());
    const publishOnly = await FtbClient.connect({ eventSpace: pubWho.space, clientName: pubWho.name }, options);
    t.teardown(() => publishOnly.close());
    publishOnly.declare([{ name: 'PING', severity: 'info' }]);

    const got: FtbReceivedEvent[] = [];
    const sub: FtbSubscription = subscriber.subscribe('');
    if (reader === 'js') sub.on('event', (e) => got.push(e));
    const received = (): FtbReceivedEvent[] => {
      if (reader === 'io') for (let e = sub.poll(); e; e = sub.poll()) got.push(e);
      return got;
    };
    const named = (name: string) => received().filter((e) => e.name === name);
    const connectionCount = agent.connections;
    const registered = () => agent.messages.filter((m) => m.msg_type === 0x22).length;
    await waitFor('the subscription at the agent', () =>
      agent.messages.some((m) => m.msg_type === 0x22 && m['src.client.comp'] === subWho.space.split('.')[2]),
    );
    if (reader === 'js') await waitFor('the JS thread to read', () => FtbClient.connectionStats().readOnJsThread);
    t.equal(FtbClient.connectionStats().readOnJsThread, reader === 'js', `the ${reader} thread reads`);
    const socket = () => agent.sockets[agent.sockets.length - 1];
    let fences = 0;
    const fence = async (what: string) => {
      const name = `FENCE_${++fences}`;
      socket().write(notify(subWho, name));
      await waitFor(`${what} (then ${name})`, () => named(name).length === 1);
    };
    const stats0 = FtbClient.connectionStats();

    // A checkpoint of another process publishes through the same connection meanwhile.
    const dir = tempDir(`ftb-hostile-${reader}`);
    const target = await startCounter(dir);
    const published0 = publisherStats();
    const checkpointing = checkpoint({
      target: target.pid,
      dir: path.join(dir, 'images'),
      ftb: { agentHost: options.agentHost, agentPort: options.agentPort },
    });

    // 1. Random frames: most are no NOTIFY; some are NOTIFYs with random everything (dst
    //    included); some are NOTIFYs for the subscriber with random contents.
    const random = Array.from({ length: 300 }, () => crypto.randomBytes(MESSAGE_SIZE));
    const randomNotifies = Array.from({ length: 100 }, () => frame({ msg_type: 1 }, crypto.randomBytes(MESSAGE_SIZE)));
    const randomForSub = Array.from({ length: 100 }, () =>
      frame({ msg_type: 1, ...dst(subWho) }, crypto.randomBytes(MESSAGE_SIZE)),
    );
    const notNotify = random.filter((b) => b.readInt32LE(0) !== 1).length;
    socket().write(Buffer.concat([...random, ...randomNotifies, ...randomForSub]));
    await fence('random frames');
    const stats = FtbClient.connectionStats();
    t.equal(stats.ignored - stats0.ignored, notNotify, 'every frame that is no NOTIFY was ignored and counted');
    t.equal(
      stats.unaddressed - stats0.unaddressed,
      300 - notNotify + 100,
      'every NOTIFY for no client of the process was dropped and counted',
    );
    t.equal(received().length, 101, 'the random NOTIFYs for the subscriber reached it, then the fence');
    const insane = received().map(saneFields).filter(Boolean);
    t.same(insane, [], 'every field of every delivered event within its size');

    // 2. A flood of NOTIFYs for a client that subscribes to nothing.
    const discarded0 = publishOnly.stats().discarded ?? 0;
    const flood = Buffer.alloc(5000 * MESSAGE_SIZE);
    for (let i = 0; i < 5000; i++) notify(pubWho, 'FLOOD', i).copy(flood, i * MESSAGE_SIZE);
    socket().write(flood);
    await fence('the flood');
    t.equal((publishOnly.stats().discarded ?? 0) - discarded0, 5000, 'the publish-only client discarded the flood');
    t.equal(named('FLOOD').length, 0, 'none of it reached the subscriber');

    // 3. Strings that fill their fields (no NUL) and a severity FTB does not have.
    const full: Record<string, string> = {};
    for (const [, field] of STRING_FIELDS) full[field] = String.fromCharCode(65 + (fields[field][0] % 26)).repeat(99);
    socket().write(frame({ ...full, 'event.severity': 'Z'.repeat(99) }, notify(subWho, '')));
    await fence('the unterminated strings');
    const unterminated = received()[received().length - 2];
    for (const [key, field] of STRING_FIELDS) {
      const expected = (field === 'event.severity' ? 'Z' : full[field][0]).repeat(fields[field][1]);
      t.equal(unterminated[key], expected, `${key}: the whole field and nothing past it`);
    }

    // 4. NOTIFYs for clients that do not exist: an unknown name, and the process' manager identity.
    const unaddressed0 = FtbClient.connectionStats().unaddressed;
    socket().write(notify({ space: subWho.space, name: 'nobody' }, 'NOBODY'));
    socket().write(notify({ space: 'x.FTB_COMP_CAT_BACKPLANE.FTB_COMP_MANAGER', name: '', ext: 1 }, 'MANAGER'));
    await fence('the misaddressed NOTIFYs');
    t.equal(FtbClient.connectionStats().unaddressed - unaddressed0, 2, 'both dropped and counted');
    t.equal(named('NOBODY').length + named('MANAGER').length, 0, 'neither was delivered');

    // 5. Half a frame, then silence: the client still sends, and delivers nothing half-read.
    const messages = agent.messages.length;
    socket().write(notify(subWho, 'HALF').subarray(0, MESSAGE_SIZE / 2));
    publishOnly.publish('PING');
    await waitFor('PING at the agent', () =>
      agent.messages.slice(messages).some((m) => m['event.event_name'] === 'PING'),
    );
    t.ok(FtbClient.connectionStats().connected, 'still connected during the silence');
    t.equal(named('HALF').length, 0, 'the half frame was not delivered');

    // 6. The agent hangs up: the half frame goes with the connection; the client reconnects,
    //    registers again and the new stream starts on a frame boundary.
    const before = FtbClient.connectionStats();
    const subscriptions = registered();
    socket().destroy();
    await waitFor(
      'the loss, the reconnect and the subscription sent again',
      () =>
        FtbClient.connectionStats().reconnects > before.reconnects &&
        agent.connections > connectionCount &&
        registered() > subscriptions,
    );
    t.ok(FtbClient.connectionStats().losses > before.losses, 'the hang-up counted as a loss');
    if (reader === 'js') {
      await waitFor('the JS thread to read again', () => FtbClient.connectionStats().readOnJsThread);
    }
    await fence('the reconnect');
    t.equal(named('HALF').length, 0, 'nothing of the half frame was delivered');
    t.same(received().map(saneFields).filter(Boolean), [], 'every delivered event sane');

    // The checkpoint finished, its two events published or counted as dropped.
    const result = await checkpointing;
    t.equal(result.restarted, false, 'the checkpoint resolved');
    const accounted = () => {
      const now = publisherStats();
      return now.published - published0.published + (now.dropped - published0.dropped);
    };
    await waitFor('both checkpoint events accounted for', () => accounted() >= 2);
    t.equal(accounted(), 2, 'BEGIN and END, each published or dropped');
    process.kill(target.pid, 'SIGKILL');
    await target.exited;
  });
}
