// The waits of test/helpers/processes.ts that look for a CRIU dump or service: given the request
// that should bring it about, they fail at once when the request ends first, saying how, instead
// of waiting out their bound. Only this test's own pid is looked at: nothing dumps it, so the
// wait can end only through the request.
import t from 'tap';
import { criuServiceStarted, dumpStarted } from './helpers/processes';

t.test('dumpStarted fails at once with the error of a request that rejected first', async (t) => {
  const error = Object.assign(new Error('no such process'), { code: 'ESRCH' });
  await t.rejects(
    dumpStarted(process.pid, process.pid, Promise.reject(error), 30000),
    /^the request ended before a dump of pid \d+ by a CRIU service of pid \d+ was seen: it rejected with Error \[ESRCH\]: no such process$/,
  );
});

t.test('criuServiceStarted fails at once with the value of a request that resolved first', async (t) => {
  await t.rejects(
    criuServiceStarted(process.pid, new Set(), { timeoutMs: 30000, request: Promise.resolve({ code: 0 }) }),
    /^the request ended before a CRIU service started by pid \d+ was seen: it resolved with \{"code":0\}$/,
  );
});

t.test('without a request, the wait runs to its bound', async (t) => {
  await t.rejects(dumpStarted(process.pid, process.pid, undefined, 100), /^timed out waiting for a dump of pid/);
});
