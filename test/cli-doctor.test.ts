// `crftb doctor` tells the truth about this machine: the provisioned CRIU passes its check, BLCR
// is reported absent with what to do, and the FTB agent is found exactly where FTB would look.
import t from 'tap';
import { execFile } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { startAgent } from '../lib/ftb/agent';

const run = promisify(execFile);
const bin = path.join(__dirname, '..', 'bin', 'crftb.js');

type Check = { name: string; status: string; detail: string };

async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number; checks: Check[] }> {
  try {
    const { stdout } = await run(process.execPath, [bin, 'doctor', '--json'], { env: { ...process.env, ...env } });
    return { code: 0, checks: JSON.parse(stdout) };
  } catch (error) {
    const e = error as { code: number; stdout: string };
    return { code: e.code, checks: JSON.parse(e.stdout) };
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const byName = (checks: Check[], name: string) => checks.find((c) => c.name === name)!;

t.test('engines and privileges', async (t) => {
  const { code, checks } = await doctor({ FTB_AGENT_PORT: String(await freePort()), FTB_BSTRAP_SERVER: '' });
  t.equal(byName(checks, 'criu check').status, 'ok', 'the CRIU crftb finds passes criu check');
  t.equal(byName(checks, 'blcr').status, 'warn', 'BLCR is absent here and only a warning');
  t.match(byName(checks, 'blcr').detail, /^ENOSYS: .*use engine 'criu'/);
  t.equal(byName(checks, 'ftb agent').status, 'warn', 'no agent on that port');
  t.equal(code, 0, 'checkpoints can work here, so doctor exits 0');
});

t.test('finds the agent named by FTB_AGENT_PORT', async (t) => {
  const agent = await startAgent({ host: '127.0.0.1', port: 0, bootstrap: false });
  t.teardown(() => agent.close());
  const { checks } = await doctor({ FTB_AGENT_PORT: String(agent.address.port) });
  t.equal(byName(checks, 'ftb agent').status, 'ok');
  t.match(byName(checks, 'ftb agent').detail, new RegExp(`${agent.address.port}`));
});

t.test('a CRIU that does not exist is a failure with exit code 1', async (t) => {
  const { code, checks } = await doctor({ CRFTB_CRIU: '/nonexistent/criu' });
  t.equal(byName(checks, 'criu').status, 'fail');
  t.equal(code, 1);
});
