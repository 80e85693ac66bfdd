// A real Node HTTP service checkpoints itself under load and loses nothing (issue 16): keep-alive
// clients and clients that open a new connection per request hammer it while it checkpoints
// itself every 2 s; every checkpoint succeeds and no request fails (established connections are
// dumped closed, connections not yet accepted are left out: connections: 'close', the default).
// A checkpoint requested over HTTP by the service's own endpoint works too. Then SIGKILL and
// restart: the restored service serves the checkpointed state to new connections. The service is
// a detached child started here (setsid, stdio appended to files, UV_USE_IO_URING=0).
import t from 'tap';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  alive,
  fixtures,
  killAndReap,
  killStarted,
  readStatuses,
  startDetached,
  tempDir,
  waitFor,
  waitStatus,
} from './helpers/detached';
import { restartAdopted } from './helpers/restore';

t.teardown(killStarted);

const CHECKPOINTS = 15; // every 2 s for 30 s, as the issue asks
const INTERVAL_MS = 2000;

interface Status {
  phase: string;
  before?: number;
  port?: number;
  ok?: boolean;
  code?: string;
  message?: string;
  served?: number;
  seconds?: number;
  frozen?: number;
  origin?: string;
}

function get(port: number, agent: http.Agent, pathName = '/', method = 'GET'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: pathName, method, agent, timeout: 30000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`)),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

t.test(
  'an HTTP service checkpointing itself every 2 s for 30 s under keep-alive and new-connection load: every checkpoint succeeds, no request fails, then it restarts',
  async (t) => {
    const work = tempDir('cr-service');
    const images = path.join(work, 'images');
    const service = startDetached(
      path.join(fixtures, 'http-service.js'),
      [work, images, String(INTERVAL_MS), String(CHECKPOINTS)],
      work,
    );
    const { port } = await waitStatus<Status>(work, 'the service to listen', (s) => s.phase === 'ready');

    const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const fresh = new http.Agent({ keepAlive: false });
    const failures: string[] = [];
    let done = 0;
    let stop = false;
    const loop = async (agent: http.Agent) => {
      while (!stop) {
        await get(port!, agent).then(
          () => (done += 1),
          (e: Error) => failures.push(e.message),
        );
      }
    };
    const loops = [loop(keepAlive), loop(keepAlive), loop(fresh), loop(fresh)];
    const loadStarted = Date.now();
    await waitFor(
      'the periodic checkpoints',
      () =>
        readStatuses<Status>(work).filter((s) => s.phase === 'checkpoint' && s.origin === 'timer').length >=
        CHECKPOINTS,
      CHECKPOINTS * INTERVAL_MS + 60000,
    );
    const asked = JSON.parse(await get(port!, keepAlive, '/checkpoint', 'POST')) as {
      restarted: boolean;
      served: number;
    };
    t.equal(asked.restarted, false, 'a checkpoint asked for over HTTP answers the request that asked for it');
    stop = true;
    await Promise.all(loops);
    const checkpoints = readStatuses<Status>(work).filter((s) => s.phase === 'checkpoint');
    t.same(
      checkpoints.filter((c) => !c.ok).map((c) => `${c.code}: ${c.message}`),
      [],
      `every checkpoint succeeded (${checkpoints.length})`,
    );
    t.same(failures, [], `no request failed (${done} served under load)`);
    t.ok(done > 50, `the load was real: ${done} requests`);
    // The figures the README quotes (not asserted: speed belongs to bench/).
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const made = checkpoints.filter((c) => c.ok);
    t.comment(
      `figures: ${made.length} checkpoints, ${done} requests in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s, ` +
        `frozen median ${median(made.map((c) => c.frozen ?? NaN)).toFixed(3)} s (max ${Math.max(...made.map((c) => c.frozen ?? 0)).toFixed(3)}), ` +
        `checkpoint() median ${median(made.map((c) => c.seconds!)).toFixed(3)} s, load average ${os
          .loadavg()
          .map((l) => l.toFixed(2))
          .join(' ')}`,
    );
    const last = checkpoints.at(-1)!;

    keepAlive.destroy();
    await killAndReap(service);
    const restored = await restartAdopted(images);
    t.comment(`figures: restart ${restored.seconds.toFixed(3)} s`);
    t.equal(restored.pid, service.pid, 'restarted with its pid');
    const restoredState = (await waitStatus<Status>(work, 'the restored copy to report', (s) => s.phase === 'restored'))
      .served!;
    t.ok(
      restoredState >= last.before! && restoredState <= last.served!,
      `the copy holds the last checkpoint's state (${restoredState} served)`,
    );
    const [pid, served] = (await get(port!, fresh)).trim().split(' ').map(Number);
    t.equal(pid, service.pid, 'the restored service answers on its port');
    t.equal(served, restoredState + 1, 'and serves on from that state');
    t.ok(alive(restored.pid));
    process.kill(restored.pid, 'SIGKILL');
  },
);
