// A restore that needs a port another process holds now fails with EADDRINUSE (issue 16 §3),
// not CRIU's generic EBADE: a program can tell "free the port or restart elsewhere" from a
// broken checkpoint. Nothing is restored; once the port is free the same images restore.
import t from 'tap';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { checkpoint, restartDetailed } from '../lib/index';
import {
  adopt,
  alive,
  fixtures,
  killStarted,
  readNumber,
  startDetached,
  tempDir,
  waitFor,
  waitReaped,
} from './helpers/detached';

t.teardown(killStarted);

t.test('a port taken at restore: EADDRINUSE naming the cause; the images restore once it is free', async (t) => {
  const work = tempDir('cr-port');
  const child = startDetached(path.join(fixtures, 'listener.js'), [work], work);
  await waitFor('the listener', () => readNumber(path.join(work, 'n')) > 2);
  const port = Number(fs.readFileSync(path.join(work, 'port'), 'utf8'));
  const images = path.join(work, 'images');
  await checkpoint({ target: child.pid, dir: images, kill: true, ftb: false });
  await waitReaped(child.pid);

  const squatter = net.createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
  const error = await restartDetailed({ dir: images, ftb: false }).then(
    (r) => {
      adopt(r.pid);
      return null;
    },
    (e) => e,
  );
  t.match(
    error,
    { code: 'EADDRINUSE', errno: -98, message: /port that another process holds.*Address already in use/ },
    'the restore fails with EADDRINUSE',
  );
  t.notOk(alive(child.pid), 'nothing was restored');
  await new Promise((resolve) => squatter.close(resolve));

  const restored = await restartDetailed({ dir: images, ftb: false });
  adopt(restored.pid);
  t.equal(restored.pid, child.pid, 'with the port free, the same images restore');
  const answer = await new Promise<string>((resolve, reject) => {
    let data = '';
    net
      .connect(port, '127.0.0.1')
      .on('data', (d) => (data += d))
      .on('end', () => resolve(data.trim()))
      .on('error', reject);
  });
  t.match(answer, new RegExp(`^${child.pid} \\d+$`), 'and listens on its port again');
  process.kill(restored.pid, 'SIGKILL');
});
