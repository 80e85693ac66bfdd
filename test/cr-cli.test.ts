// `crftb checkpoint` and `crftb restart` on a detached process started here.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  adopt,
  fixtures,
  killStarted,
  readNumber,
  startDetached,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';

t.teardown(killStarted);
const bin = path.join(__dirname, '..', 'bin', 'crftb.js');
const crftb = (args: string[]) =>
  execFileSync(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

t.test('checkpoint --kill then restart brings the process back', async (t) => {
  const dir = tempDir('cr-cli');
  const counter = path.join(dir, 'n');
  const child = startDetached(path.join(fixtures, 'counter.js'), [counter], dir);
  await waitFor('the counter', () => readNumber(counter) > 3);
  const images = path.join(dir, 'images');
  const result = JSON.parse(crftb(['checkpoint', String(child.pid), '--dir', images, '--kill', '--json']));
  t.same(result.pids, [child.pid]);
  await child.exited;
  await waitReaped(child.pid);
  const restored = JSON.parse(crftb(['restart', '--dir', images, '--json']));
  adopt(restored.pid);
  t.equal(restored.pid, child.pid);
  const at = readNumber(counter);
  await waitFor('the counter to rise again', () => readNumber(counter) > at + 3);
  process.kill(restored.pid, 'SIGKILL');
});

t.test('usage errors exit 2, failures exit 1 with the code', async (t) => {
  for (const args of [['checkpoint', '--dir', '/tmp/x'], ['restart'], ['checkpoint', '--bogus']]) {
    try {
      crftb(args);
      t.fail(`${args.join(' ')} should fail`);
    } catch (error) {
      t.equal((error as { status: number }).status, 2, args.join(' '));
    }
  }
  try {
    crftb(['restart', '--dir', '/nonexistent/images']);
    t.fail('should fail');
  } catch (error) {
    t.equal((error as { status: number }).status, 1);
    t.match(String((error as { stderr: Buffer }).stderr), /ENOENT/);
  }
});
