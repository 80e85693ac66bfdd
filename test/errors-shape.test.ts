// crftb's errors follow Node's SystemError conventions (lib/errors.ts): a system error has a
// negative errno that util.getSystemErrorName maps back to its code, syscall and path where crftb
// knows them; other codes (FTB_ERR_*) keep their own number in codeNumber, never in errno; a
// failure that follows from another has it as cause. Errors made in the addon and in JavaScript
// have the same shape. Nothing here starts a service: the agent below fails to bind.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import util from 'node:util';
import { isCrftbError, restart, startAgent } from '../lib/index';
import { FtbClient } from '../lib/ftb/client';
import { FtbEventHandle } from '../lib/ftb/event';
import { closedPort } from './helpers/ports';

type Shaped = Error & {
  code: string;
  errno?: number;
  codeNumber?: number;
  syscall?: string;
  path?: string;
  cause?: unknown;
};

async function rejection(promise: Promise<unknown>): Promise<Shaped> {
  try {
    await promise;
  } catch (error) {
    return error as Shaped;
  }
  throw new Error('did not reject');
}

function systemError(t: Test, error: Shaped, code: string, what: string): void {
  t.ok(isCrftbError(error), `${what}: a crftb error`);
  t.equal(error.code, code, `${what}: code ${code}`);
  t.ok(typeof error.errno === 'number' && error.errno < 0, `${what}: errno is negative (${error.errno})`);
  t.equal(util.getSystemErrorName(error.errno!), error.code, `${what}: util.getSystemErrorName(errno) is the code`);
  t.notOk('codeNumber' in error, `${what}: no codeNumber on a system error`);
}

t.test('restart of a missing directory: ENOENT with errno -2, the syscall and the path', async (t) => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'crftb-shape-')), 'nothing-here');
  t.teardown(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));
  const error = await rejection(restart({ dir }));
  systemError(t, error, 'ENOENT', 'restart');
  t.equal(error.errno, -2, 'the number Node gives ENOENT');
  t.equal(error.path, dir, 'path is the directory');
  t.equal(error.syscall, 'lstat', 'syscall is the call that failed');
});

t.test('an agent whose port is taken: EADDRINUSE from bind', async (t) => {
  const taken = net.createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  t.teardown(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  const started = startAgent({ host: '127.0.0.1', port, bootstrap: false });
  started.then(
    (agent) => agent.close(),
    () => undefined,
  ); // never left running if it did start
  const error = await rejection(started);
  systemError(t, error, 'EADDRINUSE', 'startAgent');
  t.ok(['bind', 'listen'].includes(error.syscall!), `syscall is ${error.syscall}`);
});

t.test('errors made in JavaScript have the same shape', async (t) => {
  const error = await rejection(restart(null as never));
  systemError(t, error, 'EINVAL', 'the options check of restart()');
  t.equal(error.errno, -22);
});

t.test('FTB codes keep their number in codeNumber, not errno', async (t) => {
  const native = await rejection(
    FtbClient.connect({ eventSpace: 'ABC' } as never, { agentHost: '127.0.0.1', agentPort: await closedPort() }),
  );
  t.match(native, { code: 'FTB_ERR_EVENTSPACE_FORMAT', codeNumber: -2 }, 'from the addon');
  t.notOk('errno' in native, 'no errno');
  let js: Shaped | undefined;
  try {
    new FtbEventHandle(Buffer.alloc(1));
  } catch (error) {
    js = error as Shaped;
  }
  t.match(js, { code: 'FTB_ERR_INVALID_HANDLE', codeNumber: -9 }, 'from JavaScript');
  t.notOk(js && 'errno' in js, 'no errno');
});

t.test('a chained failure has its cause: no FTB agent, because connect was refused', async (t) => {
  const agentPort = await closedPort();
  const error = await rejection(
    FtbClient.connect(
      { eventSpace: 'CRFTB.TEST.SHAPE', clientName: 'shape' },
      { agentHost: '127.0.0.1', agentPort, connectTimeoutMs: 5000 },
    ),
  );
  t.match(error, { code: 'FTB_ERR_NETWORK_NO_ROUTE', codeNumber: -21 });
  t.ok(isCrftbError(error.cause), 'the cause is a crftb error too');
  const cause = error.cause as Shaped;
  systemError(t, cause, 'ECONNREFUSED', 'the cause');
  t.equal(cause.syscall, 'connect');
});

t.test('errors crftb did not make are still not crftb errors', async (t) => {
  let fsError: unknown;
  try {
    fs.readFileSync('/nonexistent/crftb-file');
  } catch (error) {
    fsError = error;
  }
  t.match(
    fsError,
    { code: 'ENOENT', errno: -2, syscall: 'open', path: '/nonexistent/crftb-file' },
    'an fs error has the same fields',
  );
  t.notOk(isCrftbError(fsError), 'but is not a crftb error');
  t.notOk(isCrftbError(Object.assign(new Error('x'), { code: 'EINVAL', errno: -22 })));
});
