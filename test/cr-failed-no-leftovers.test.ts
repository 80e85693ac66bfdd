// Failed checkpoints do not pile up directories (issue 16 §3: 31 in 62 s before). Many checkpoints
// of a real process into one dir fail - CRIU refusing a connection (connections: 'fail', after
// writing part of the images) and deadlines passing mid-dump (the dump finishes in the background
// and its images are removed) - and what is left beside the last good checkpoint is at most the
// last failure's log, which the next checkpoint removes. No temp links, no lock, no stray
// generation.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { checkpoint, type CrftbError } from '../lib/index';
import { cr } from '../lib/cr/native';
import { killStarted, startConnectedClient, tempDir } from './helpers/detached';

t.teardown(killStarted);

const FAILURES = 12;

t.test(`${FAILURES} failed checkpoints into one dir leave the last good one and at most one log`, async (t) => {
  const work = tempDir('cr-leftovers');
  const client = await startConnectedClient(work, path.join(work, 'n'));
  t.teardown(() => client.close());
  const ckpt = path.join(work, 'ckpt');
  fs.mkdirSync(ckpt);
  const images = path.join(ckpt, 'images');
  const gens = `${images}.gens`;
  let good = (await checkpoint({ target: client.pid, dir: images, ftb: false })).generation;

  const codes: string[] = [];
  for (let i = 0; i < FAILURES; ++i) {
    // Every third one runs out of time mid-dump; the others are refused by CRIU.
    const options =
      i % 3 === 2 ? { timeoutMs: 40 } : { connections: 'fail' as const, retry: { retries: 2, delayMs: 10 } };
    const error = await checkpoint({ target: client.pid, dir: images, ftb: false, ...options }).then(
      () => null,
      (e: CrftbError & { committed?: boolean; generation?: string }) => e,
    );
    if (error === null || error.committed) {
      // A dump faster than the deadline: committed, which is no failure (rare; counted as good).
      good = error?.generation ?? fs.realpathSync(images);
      continue;
    }
    codes.push(error.code);
  }
  t.ok(codes.length >= FAILURES - 2, `${codes.length} checkpoints failed: ${[...new Set(codes)].join(', ')}`);
  t.ok(codes.includes('EBADE'), 'CRIU refused some');
  t.ok(await cr.drainAbandoned(60_000), 'the interrupted dumps have finished in the background');

  t.equal(fs.realpathSync(images), good, 'the dir still points at the last good checkpoint');
  t.same(fs.readdirSync(ckpt).sort(), ['images', 'images.gens'], 'nothing else beside it: no temp link');
  const others = fs.readdirSync(gens).filter((name) => path.join(gens, name) !== good);
  t.ok(others.length <= 1, `besides it, at most one entry in ${path.basename(gens)}: ${others.join(', ') || 'none'}`);
  for (const name of others) {
    t.match(name, /^\d+$/, "a failed attempt's directory (no lock, no temp file)");
    t.same(
      fs.readdirSync(path.join(gens, name)).filter((f) => !f.endsWith('.log')),
      [],
      'holding only its log',
    );
  }

  const next = await checkpoint({ target: client.pid, dir: images, ftb: false });
  t.ok(await cr.drainAbandoned(60_000), 'the superseded generation is removed after the call');
  t.same(
    fs.readdirSync(gens),
    [path.basename(next.generation)],
    'the next checkpoint removes the log: one generation, nothing else',
  );
});
