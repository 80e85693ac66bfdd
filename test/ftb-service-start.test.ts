// An agent or bootstrap server keeps its process alive from the moment it runs until close()
// (or unref()); one that failed to start holds nothing, so the process exits by itself. Each case
// runs in a child Node process of its own, whose exit (or not) is the observation.
import t from 'tap';
import path from 'node:path';
import { execFile } from 'node:child_process';

const dist = path.join(__dirname, '..', 'dist', 'index.js');

interface Outcome { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }

// Runs `body` in a child with `lib` bound to crftb; a child still running after `ms` is SIGTERMed.
function run(body: string, ms: number): Promise<Outcome> {
  const script = `const lib = require(${JSON.stringify(dist)});\n(async () => {\n${body}\n})();`;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['-e', script], { timeout: ms }, (_error, stdout, stderr) =>
      resolve({ code: child.exitCode, signal: child.signalCode, stdout: stdout.trim(), stderr }));
  });
}

t.test('an agent that cannot listen (port taken) rejects with EADDRINUSE and the process exits', async (t) => {
  const out = await run(`
    const net = require('node:net');
    const taken = net.createServer();
    await new Promise((r) => taken.listen(0, '127.0.0.1', r));
    try { await lib.startAgent({ host: '127.0.0.1', port: taken.address().port, bootstrap: false }); console.log('started'); }
    catch (e) { console.log(e.code); }
    taken.close();`, 15000);
  t.equal(out.stdout, 'EADDRINUSE', `the start failed with its errno (stderr: ${out.stderr})`);
  t.equal(out.signal, null, 'the process was not left running');
  t.equal(out.code, 0, 'it exited by itself');
});

t.test('an agent with a host that is not an address rejects with EINVAL and the process exits', async (t) => {
  const out = await run(`
    try { await lib.startAgent({ host: 'not-an-address', port: 0, bootstrap: false }); console.log('started'); }
    catch (e) { console.log(e.code); }`, 15000);
  t.equal(out.stdout, 'EINVAL', `stderr: ${out.stderr}`);
  t.equal(out.signal, null, 'the process was not left running');
  t.equal(out.code, 0);
});

t.test('a bootstrap server that cannot bind (port taken) rejects with EADDRINUSE and the process exits', async (t) => {
  const out = await run(`
    const dgram = require('node:dgram');
    const taken = dgram.createSocket('udp4');
    await new Promise((r) => taken.bind(0, '127.0.0.1', r));
    try { await lib.startBootstrap({ host: '127.0.0.1', port: taken.address().port }); console.log('started'); }
    catch (e) { console.log(e.code); }
    taken.close();`, 15000);
  t.equal(out.stdout, 'EADDRINUSE', `stderr: ${out.stderr}`);
  t.equal(out.signal, null, 'the process was not left running');
  t.equal(out.code, 0);
});

t.test('control: a running agent or bootstrap server keeps the process alive until close(), or not once unref()d', async (t) => {
  for (const start of ["lib.startAgent({ host: '127.0.0.1', port: 0, bootstrap: false })",
                       "lib.startBootstrap({ host: '127.0.0.1', port: 0 })"]) {
    const held = await run(`const s = await ${start}; console.log('running');`, 2000);
    t.equal(held.stdout, 'running', `${start} started (stderr: ${held.stderr})`);
    t.equal(held.signal, 'SIGTERM', `${start}: still running 2 s later, held by the service`);
    const closed = await run(`const s = await ${start}; setTimeout(() => s.close().then(() => console.log('closed')), 200);`, 15000);
    t.same([closed.stdout, closed.signal, closed.code], ['closed', null, 0], `${start}: exits after close()`);
    const unrefd = await run(`const s = await ${start}; s.unref(); console.log('unref');`, 15000);
    t.same([unrefd.stdout, unrefd.signal, unrefd.code], ['unref', null, 0], `${start}: exits once unref()d`);
  }
});
