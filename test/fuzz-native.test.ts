// A short libFuzzer run of the C++ harnesses (native/fuzz/: the agent's router, the client's
// decoding of subscriptions, events and locations, the bootstrap server's handling of datagrams) under ASan and UBSan: any crash, sanitizer
// report, broken invariant, timeout or memory blow-up fails it. Long: CRFTB_LONG=1 only, and only
// where clang with libFuzzer is installed (scripts/setup.sh installs it for long runs).
import t from 'tap';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const long = process.env.CRFTB_LONG === '1';
const clang = spawnSync('clang++', ['--version']).status === 0;
const skip = !long
  ? 'long test: run with CRFTB_LONG=1 (npm run test:long)'
  : !clang
    ? 'clang++ with libFuzzer is not installed'
    : false;

t.test('libFuzzer harnesses run 30 s each without a finding', { skip }, async (t) => {
  const run = spawnSync('bash', [path.join(__dirname, '..', 'scripts', 'fuzz.sh'), '30'], {
    encoding: 'utf8',
    timeout: 600000,
  });
  t.equal(run.status, 0, `fuzz.sh exit status; its report:\n${run.stderr}`);
  const executed = [...run.stderr.matchAll(/number_of_executed_units:\s*(\d+)/g)].map((m) => Number(m[1]));
  t.equal(executed.length, 3, 'all three harnesses ran');
  t.ok(
    executed.every((n) => n > 10000),
    `each ran more than 10,000 inputs (${executed.join(', ')})`,
  );
});
