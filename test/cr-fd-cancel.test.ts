// Descriptors on the paths that do not succeed: requests interrupted mid-dump and mid-restore,
// refused (lock held, untrusted dir, altered images, pid in use) and publishing to an FTB agent
// that goes away and comes back. Once drainAbandoned() resolves, /proc/self/fd holds exactly what
// it held before (same numbers, same files). The CRIU service of a request is held (SIGSTOP) so
// the interrupts land while the engine works. Every target is a detached counter started here.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, publisherStats, restartDetailed, startAgent } from '../lib/index';
import { FtbClient } from '../lib/ftb/client';
import { cr } from '../lib/cr/native';
import { fdTable } from './helpers/fds';
import { hold } from './helpers/hold';
import { adopt, killStarted, readNumber, startCounter, tempDir, waitFor, waitReaped } from './helpers/detached';
import { childrenOf, criuServiceStarted, dumpStarted, isRestoreService } from './helpers/processes';

t.teardown(killStarted);

const nobody = 65534;
const FLAPS = 3;

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e) => e,
  );

t.test('failed, refused and interrupted requests leave /proc/self/fd as it was', async (t) => {
  const work = tempDir('fd-cancel');
  const target = await startCounter(work);
  const images = path.join(work, 'images');
  let agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  const port = agent.address.port;
  // retryAfterMs 0: every request tries the agent again, whether it came back or not.
  const ftb = { agentHost: '127.0.0.1', agentPort: port, retryAfterMs: 0 };
  const disconnected = () => waitFor('the FTB connection to drop', () => !FtbClient.connectionStats().connected);
  // First use: engine probe, library load, the FTB connection's process-wide state.
  await checkpoint({ target: target.pid, dir: images, ftb });
  await agent.close();
  await disconnected();
  t.ok(await cr.drainAbandoned(60000), 'the warm-up left nothing running');
  const before = fdTable();

  // A deadline passing mid-dump, with a second checkpoint refused by the lock meanwhile.
  {
    const request = failure(checkpoint({ target: target.pid, dir: images, kill: true, timeoutMs: 5000, ftb: false }));
    const engine = await hold(await dumpStarted(target.pid, process.pid, request));
    t.match(
      await failure(checkpoint({ target: target.pid, dir: images, ftb: false })),
      { code: 'EAGAIN' },
      'a checkpoint into the locked dir: EAGAIN',
    );
    t.match(await request, { code: 'ETIMEDOUT' }, 'the held dump passes its deadline: ETIMEDOUT');
    engine.release();
    // The abandoned dump holds the dir's lock until it has ended and its images are removed.
    t.ok(await cr.drainAbandoned(120000), 'the abandoned dump ends');
  }
  // An abort mid-dump.
  {
    const controller = new AbortController();
    const request = failure(
      checkpoint({ target: target.pid, dir: images, kill: true, signal: controller.signal, ftb: false }),
    );
    const engine = await hold(await dumpStarted(target.pid, process.pid, request));
    controller.abort();
    t.match(await request, { code: 'ABORT_ERR' }, 'the held dump aborted: ABORT_ERR');
    engine.release();
    t.ok(await cr.drainAbandoned(120000), 'the abandoned dump ends');
  }
  // An untrusted dir.
  {
    const untrusted = path.join(work, 'untrusted');
    fs.mkdirSync(`${untrusted}.gens`, { mode: 0o700 });
    fs.chownSync(`${untrusted}.gens`, nobody, nobody);
    t.match(
      await failure(checkpoint({ target: target.pid, dir: untrusted, ftb: false })),
      { code: 'EPERM' },
      "another user's <dir>.gens: EPERM",
    );
  }
  // A restart while the checkpointed process still runs.
  t.match(await failure(restartDetailed({ dir: images, ftb: false })), { code: 'EBUSY' }, 'pid in use: EBUSY');

  // Restarts of a counter checkpointed and killed: from altered images, then interrupted.
  const other = await startCounter(tempDir('fd-cancel'));
  const killed = path.join(path.dirname(other.counter), 'images');
  const { generation } = await checkpoint({ target: other.pid, dir: killed, kill: true, ftb: false });
  await other.exited;
  await waitReaped(other.pid);
  {
    const pages = fs.readdirSync(generation).find((f) => /^pages-\d+\.img$/.test(f))!;
    const file = path.join(generation, pages);
    const flip = () => {
      const fd = fs.openSync(file, 'r+');
      const byte = Buffer.alloc(1);
      fs.readSync(fd, byte, 0, 1, 0);
      byte[0] ^= 1;
      fs.writeSync(fd, byte, 0, 1, 0);
      fs.closeSync(fd);
    };
    flip();
    t.match(
      await failure(restartDetailed({ dir: killed, ftb: false })),
      { code: 'EBADMSG' },
      'altered images: EBADMSG',
    );
    flip();
  }
  {
    const controller = new AbortController();
    const children = new Set(childrenOf());
    const request = failure(
      restartDetailed({ dir: killed, ftb: false, signal: controller.signal }).then((r) => adopt(r.pid)),
    );
    const engine = await hold(
      await criuServiceStarted(process.pid, children, { timeoutMs: 30000, match: isRestoreService, request }),
    );
    controller.abort();
    t.match(await request, { code: 'ABORT_ERR' }, 'the held restore aborted: ABORT_ERR');
    engine.release();
  }

  // Checkpoints publishing to an agent that comes and goes: the publisher's connection, kept
  // since the warm-up, finds it again by itself (and loses it again) each time.
  for (let flap = 1; flap <= FLAPS; flap++) {
    agent = await startAgent({ host: '127.0.0.1', port, bootstrap: false });
    await waitFor(`flap ${flap}: the publisher to reconnect`, () => FtbClient.connectionStats().connected);
    const published = publisherStats().published;
    await checkpoint({ target: target.pid, dir: images, ftb });
    t.equal(publisherStats().published - published, 2, `flap ${flap}: BEGIN and END published through the agent`);
    await agent.close();
    await disconnected();
    const dropped = publisherStats().dropped;
    await checkpoint({ target: target.pid, dir: images, ftb });
    t.equal(publisherStats().dropped - dropped, 2, `flap ${flap}: with the agent gone, dropped`);
  }

  t.ok(await cr.drainAbandoned(120000), 'the abandoned dumps and restores have ended');
  t.notOk(fs.existsSync(`/proc/${other.pid}`), 'nothing the interrupted restore brought back is left');
  const now = readNumber(target.counter);
  await waitFor('the checkpointed target to count on', () => readNumber(target.counter) > now + 2);
  t.same(fdTable(), before, '/proc/self/fd is exactly what it was');
});
