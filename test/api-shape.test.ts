// The API's shape where Node users rely on it: `await using` closes agents and bootstrap servers,
// and a second FtbClient.connect naming another agent in the same process is refused instead of
// silently using the first agent. Agents run only inside a network namespace made here.
import t from 'tap';
import { CrftbProcess } from './helpers/crftb-process';
import { TestNetwork } from './helpers/netns';

t.test('Symbol.asyncDispose and one FTB connection per process', async (t) => {
  const network = new TestNetwork('shape', 1, '10.218.0');
  const why = network.setup();
  if (why) return t.fail(why);
  t.teardown(() => network.teardown());
  const child = CrftbProcess.fixture('api-shape', [], { netns: network.hosts[0].ns });
  t.teardown(() => child.signal('SIGKILL'));
  const started = await child.waitFor((l) => l.event === 'started' || l.event === 'error', 30_000);
  t.same(started.message, undefined, 'the fixture runs');
  t.equal(started.refusedWhileOpen, false, 'the agent listens inside the block');
  const disposed = await child.waitFor((l) => l.event === 'disposed', 30_000);
  t.same(
    disposed.closed,
    ['bootstrap', 'bootstrap closed', 'agent', 'agent closed'],
    'leaving the block closed both, newest first, and waited for each (await using)',
  );
  t.equal(disposed.refused, true, 'the closed agent no longer listens (it did until garbage collection)');
  await child.waitFor((l) => l.event === 'done' || l.event === 'error', 30_000);
  const outcome = (to: string) => child.lines.find((l) => l.event === 'connect' && l.to === to)!;
  t.match(outcome('same'), { ok: true }, 'a connect naming the connected agent shares its connection');
  for (const to of ['other', 'port1']) {
    t.match(
      outcome(to),
      {
        ok: false,
        code: 'EISCONN',
        crftb: true,
        message: /already connected to the FTB agent at 127\.0\.0\.1:\d+ .*one FTB connection per process/,
      },
      `a connect naming ${to === 'other' ? 'another agent' : 'port 1'} is refused, never served by the first agent`,
    );
  }
});
