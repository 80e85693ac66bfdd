// Descriptor hygiene over many operations: after 10,000 connect/close cycles against a real agent
// and a run of checkpoints of a child (10 by default, 100 with CRFTB_LONG=1), /proc/self/fd holds
// exactly the descriptors it held before (same numbers, same files), and a child spawned while a
// checkpoint runs inherits none of crftb's descriptors. Every other checkpoint stops its target,
// so its halt guardian's socket (native/cr/halt_guardian.h) is among what must not leak.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { FtbClient } from '../lib/ftb/client';
import { checkpoint } from '../lib/index';
import { cr } from '../lib/cr/native';
import { CrftbProcess } from './helpers/crftb-process';
import { fdTable } from './helpers/fds';
import { fixtures, killStarted, readNumber, startDetached, tempDir, waitFor } from './helpers/detached';

t.teardown(killStarted);

const long = process.env.CRFTB_LONG === '1';
const CYCLES = 10000;
const CHECKPOINTS = long ? 100 : 10;

// What a freshly spawned child holds above stdio: descriptors it inherited from this process
// (at exec time: ls is quick to start and lists its own table).
async function inheritedByChild(): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ls', ['-l', '/proc/self/fd/']);
  return stdout
    .split('\n')
    .map((l) => / (\d+) -> (.*)$/.exec(l))
    .filter((m) => m && Number(m[1]) > 2)
    .map((m) => m![2])
    .filter((link) => !/^\/proc\/\d+\/fd$/.test(link))
    .sort();
}

t.test(`${CYCLES} connect/close cycles against a real agent leave /proc/self/fd as it was`, async (t) => {
  const agent = CrftbProcess.start(['agent', '--port', '0', '--advertise', '127.0.0.1', '--standalone']);
  t.teardown(() => agent.stop());
  const { port } = await agent.listening();
  const options = { agentHost: '127.0.0.1', agentPort: port };
  const info = { eventSpace: 'CRFTB.TEST.FD', clientName: 'fd', subscriptionStyle: 'FTB_SUBSCRIPTION_BOTH' as const };
  await (await FtbClient.connect(info, options)).close(); // first use: lazy process-wide state
  const before = fdTable();
  let failures = 0;
  for (let i = 0; i < CYCLES; i++) {
    try {
      const client = await FtbClient.connect(info, options);
      if (i % 100 === 0) client.subscribe('event_space=CRFTB.TEST.FD');
      await client.close();
    } catch {
      failures++;
    }
  }
  t.equal(failures, 0, 'every cycle connected and closed');
  t.notOk(FtbClient.connectionStats().connected, 'no connection left open');
  t.same(fdTable(), before, '/proc/self/fd is exactly what it was');
});

t.test(
  `${CHECKPOINTS} checkpoints leave /proc/self/fd as it was; children spawned meanwhile inherit nothing of crftb`,
  async (t) => {
    const work = tempDir('fd-hygiene');
    const counter = path.join(work, 'n');
    const target = startDetached(path.join(fixtures, 'heap.js'), [counter, '32'], work);
    await waitFor('the counter', () => readNumber(counter) > 2);
    const images = path.join(work, 'images');
    const baseline = await inheritedByChild();
    await checkpoint({ target: target.pid, dir: images, ftb: false }); // first use: engine probe, library load
    const before = fdTable();
    let spawnedDuring = 0;
    const leaks = new Set<string>();
    for (let i = 0; i < CHECKPOINTS; i++) {
      let done = false;
      const stop = i % 2 === 1;
      const request = checkpoint({ target: target.pid, dir: images, stop, ftb: false }).finally(() => (done = true));
      // Children spawned while the request runs (the CRIU service is up from the first moments).
      while (!done) {
        const running = !done;
        const inherited = await inheritedByChild();
        if (running) {
          spawnedDuring++;
          for (const link of inherited) if (!baseline.includes(link)) leaks.add(link);
        }
      }
      await request;
      if (stop) process.kill(target.pid, 'SIGCONT'); // left stopped as asked; ours to let go on
    }
    t.ok(spawnedDuring >= CHECKPOINTS, `${spawnedDuring} children were spawned while checkpoints ran`);
    t.same([...leaks], [], 'none of them inherited a descriptor the process did not hand to every child');
    // Superseded generations are removed in the background once a checkpoint resolves (its
    // directory listings hold a descriptor meanwhile): the comparison waits for that to end.
    t.ok(await cr.drainAbandoned(60_000), 'the superseded generations have been removed');
    t.same(fdTable(), before, '/proc/self/fd is exactly what it was');
    t.equal(fs.readdirSync(`${images}.gens`).length, 1, 'only the last generation is kept');
  },
);
