// An agent or bootstrap server keeps its process alive from the moment it runs until close()
// (or unref()); one that failed to start holds nothing, so the process exits by itself. Each case
// runs in a child Node process of its own, whose exit (or not) is the observation.
import t from 'tap';
import { spawn } from 'node:child_process';
import { dist, type Outcome, runNode } from './helpers/node-child';

// Runs `body` in a child with `lib` bound to crftb; one still running after `ms` (a hang) is
// SIGTERMed.
function run(body: string, ms: number): Promise<Outcome> {
  return runNode(`const lib = require(${JSON.stringify(dist)});\n(async () => {\n${body}\n})();`, ms);
}

t.test('an agent that cannot listen (port taken) rejects with EADDRINUSE and the process exits', async (t) => {
  const out = await run(
    `
    const net = require('node:net');
    const taken = net.createServer();
    await new Promise((r) => taken.listen(0, '127.0.0.1', r));
    try { await lib.startAgent({ host: '127.0.0.1', port: taken.address().port, bootstrap: false }); console.log('started'); }
    catch (e) { console.log(e.code); }
    taken.close();`,
    30000,
  );
  t.equal(out.stdout, 'EADDRINUSE', `the start failed with its errno (stderr: ${out.stderr})`);
  t.equal(out.signal, null, 'the process was not left running');
  t.equal(out.code, 0, 'it exited by itself');
});

t.test('an agent with a host that is not an address rejects with EINVAL and the process exits', async (t) => {
  const out = await run(
    `
    try { await lib.startAgent({ host: 'not-an-address', port: 0, bootstrap: false }); console.log('started'); }
    catch (e) { console.log(e.code); }`,
    30000,
  );
  t.equal(out.stdout, 'EINVAL', `stderr: ${out.stderr}`);
  t.equal(out.signal, null, 'the process was not left running');
  t.equal(out.code, 0);
});

t.test('a bootstrap server that cannot bind (port taken) rejects with EADDRINUSE and the process exits', async (t) => {
  const out = await run(
    `
    const dgram = require('node:dgram');
    const taken = dgram.createSocket('udp4');
    await new Promise((r) => taken.bind(0, '127.0.0.1', r));
    try { await lib.startBootstrap({ host: '127.0.0.1', port: taken.address().port }); console.log('started'); }
    catch (e) { console.log(e.code); }
    taken.close();`,
    30000,
  );
  t.equal(out.stdout, 'EADDRINUSE', `stderr: ${out.stderr}`);
  t.equal(out.signal, null, 'the process was not left running');
  t.equal(out.code, 0);
});

// Starts `body` in a child and resolves once it prints its first line; then, 1 s later, whether it
// is still running (it is SIGKILLed either way). A child whose loop holds nothing exits right
// after that line.
function stillRunningAfterStart(body: string): Promise<{ line: string; running: boolean; stderr: string }> {
  const script = `const lib = require(${JSON.stringify(dist)});\n(async () => {\n${body}\n})();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve) => {
    const settle = async (line: string) => {
      await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
      const running = child.exitCode === null && child.signalCode === null;
      child.kill('SIGKILL');
      await exited;
      resolve({ line, running, stderr });
    };
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('\n')) void settle(stdout.split('\n')[0]);
    });
    void exited.then(() => {
      if (!stdout.includes('\n')) resolve({ line: stdout, running: false, stderr });
    });
  });
}

t.test(
  'control: a running agent or bootstrap server keeps the process alive until close(), or not once unref()d',
  async (t) => {
    for (const start of [
      "lib.startAgent({ host: '127.0.0.1', port: 0, bootstrap: false })",
      "lib.startBootstrap({ host: '127.0.0.1', port: 0 })",
    ]) {
      const held = await stillRunningAfterStart(`const s = await ${start}; console.log('running');`);
      t.equal(held.line, 'running', `${start} started (stderr: ${held.stderr})`);
      t.ok(held.running, `${start}: the process is still running after it, held by the service`);
      const closed = await run(
        `const s = await ${start}; setTimeout(() => s.close().then(() => console.log('closed')), 200);`,
        30000,
      );
      t.same(
        [closed.stdout, closed.signal, closed.code],
        ['closed', null, 0],
        `${start}: exits after close() (stderr: ${closed.stderr})`,
      );
      const unrefd = await run(`const s = await ${start}; s.unref(); console.log('unref');`, 30000);
      t.same(
        [unrefd.stdout, unrefd.signal, unrefd.code],
        ['unref', null, 0],
        `${start}: exits once unref()d (stderr: ${unrefd.stderr})`,
      );
    }
  },
);
