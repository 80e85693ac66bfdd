// The README's main job, run as a user would: `crftb demo` must show all six BLCR events, the
// app counting on across its restart, and exit 0 having stopped everything it started.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

t.test('crftb demo runs end to end and cleans up', async (t) => {
  const bin = path.join(__dirname, '..', 'bin', 'crftb.js');
  const run = spawnSync(process.execPath, [bin, 'demo'], { encoding: 'utf8', timeout: 240_000 });
  t.equal(run.status, 0, `demo exit code (stderr: ${run.stderr})`);
  for (const name of ['CHKPT_BEGIN', 'CHKPT_END', 'CHKPT_ERROR', 'RSTRT_BEGIN', 'RSTRT_END', 'RSTRT_ERROR']) {
    t.match(run.stdout, new RegExp(`events +│ ${name} `), `the event log shows ${name}`);
  }
  t.match(run.stdout, /restored from the checkpoint taken at tick/, 'the restored app says it was restored');
  t.match(run.stdout, /all six BLCR events were published and seen/);
  const pid = Number(/restored pid (\d+)/.exec(run.stdout)?.[1]);
  t.ok(pid > 0, 'the demo reports the restored pid');
  t.throws(() => process.kill(pid, 0), 'the restored app was stopped by the demo');
});
