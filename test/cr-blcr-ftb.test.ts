// BLCR checkpoints publish BLCR's FTB events exactly once: crftb publishes CHKPT_BEGIN and
// CHKPT_END / CHKPT_ERROR for a libcr without FTB support, and nothing when libcr was built with
// FTB (it exports cri_ftb_init and publishes them itself). libcr is the labelled test double
// (test/fixtures/libcr-double); the agent is a real `crftb agent` child on a free port and the
// subscriber is this process.
import t from 'tap';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { FtbClient, type FtbReceivedEvent } from '../lib/ftb/client';
import { buildDouble, callInChild, cannotBuild, type LibcrDouble } from './helpers/libcr-double';
import { CrftbProcess } from './helpers/crftb-process';
import { agentArgs, masksAtLeast } from './helpers/ftb-tree';
import { waitFor } from './helpers/wait';

const skip = cannotBuild();

t.test('crftb does not even try to publish when libcr publishes CHKPT_* itself', { skip }, async (t) => {
  const plain = buildDouble();
  const withFtb = buildDouble({ withFtb: true });
  t.teardown(() => {
    plain.remove();
    withFtb.remove();
  });
  // An agent address nothing listens on: publishing degrades silently either way.
  const ftb = { agentHost: '127.0.0.1', agentPort: 1, connectTimeoutMs: 200 };
  const run = (double: LibcrDouble) => {
    const work = path.join(double.dir, 'attempt');
    mkdirSync(work);
    return callInChild(
      'checkpoint',
      { engine: 'blcr', libcr: double.library, target: 'TARGET', file: path.join(work, 'c'), ftb },
      {},
    );
  };
  const byLibcr = run(withFtb);
  t.notOk(byLibcr.error);
  t.match(byLibcr.publisher, { published: 0, dropped: 0 }, 'no publish attempt with an FTB-enabled libcr');
  t.equal(byLibcr.publisher.suppressed, 2, 'its BEGIN and END are counted as left to libcr');
  const byCrftb = run(plain);
  t.notOk(byCrftb.error);
  t.ok(
    byCrftb.publisher.published + byCrftb.publisher.dropped > 0,
    'crftb publishes (or counts a drop) with a plain libcr',
  );
});

t.test('CHKPT_* events come from crftb or from libcr, never both', { skip }, async (t) => {
  const plain = buildDouble();
  const withFtb = buildDouble({ withFtb: true });
  t.teardown(() => {
    plain.remove();
    withFtb.remove();
  });
  const agent = CrftbProcess.start(agentArgs({ statsMs: 100 }));
  t.teardown(() => agent.stop());
  const { port } = await agent.listening();

  const sub = await FtbClient.connect(
    {
      eventSpace: 'CRFTB.TEST.BLCRWATCH',
      clientName: 'watch',
      jobId: '',
      subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY',
    },
    { agentHost: '127.0.0.1', agentPort: port },
  );
  t.teardown(() => sub.close());
  const got: FtbReceivedEvent[] = [];
  sub.subscribe('event_space=FTB.checkpoint_sw.blcr').on('event', (e: FtbReceivedEvent) => got.push(e));
  await masksAtLeast(agent, 1); // the agent has registered the subscription

  let n = 0;
  const run = (double: LibcrDouble, env: Record<string, string> = {}) => {
    const work = path.join(double.dir, `ftb-${++n}`);
    mkdirSync(work);
    return callInChild(
      'checkpoint',
      {
        engine: 'blcr',
        libcr: double.library,
        target: 'TARGET',
        file: path.join(work, 'c'),
        ftb: { agentHost: '127.0.0.1', agentPort: port },
      },
      { LIBCR_DOUBLE_LOG: path.join(work, 'calls.log'), ...env },
    );
  };

  const byLibcr = run(withFtb); // libcr publishes (the double only pretends): crftb stays silent
  t.notOk(byLibcr.error, 'checkpoint with an FTB-enabled libcr');
  const failed = run(plain, { LIBCR_DOUBLE_REAP_ERRNO: '2354' });
  t.match(failed.error, { code: 'CR_ETEMPFAIL', codeNumber: 2354 });
  const succeeded = run(plain);
  t.notOk(succeeded.error, 'checkpoint with a plain libcr');

  // A fence: one more plain checkpoint, run after the others ended. Once its END is here, whatever
  // the earlier runs published has arrived too.
  const fence = run(plain);
  await waitFor("the fence checkpoint's END", () =>
    got.some((e) => e.name === 'CHKPT_END' && e.sourcePid === fence.self.pid),
  );
  t.same(
    got.filter((e) => e.sourcePid !== fence.self.pid).map((e) => [e.name, e.sourcePid]),
    [
      ['CHKPT_BEGIN', failed.self.pid],
      ['CHKPT_ERROR', failed.self.pid],
      ['CHKPT_BEGIN', succeeded.self.pid],
      ['CHKPT_END', succeeded.self.pid],
    ],
    'nothing from the process whose libcr publishes itself',
  );
  const [, error, , end] = got;
  // Severities exactly as BLCR declares them (../shared/seed README.FTB: "INFO", "ERROR"); FTB
  // sends them as declared.
  t.match(error, { severity: 'ERROR', eventType: 2, space: 'FTB.checkpoint_sw.blcr' });
  t.equal(error.payload.readInt32LE(360), 2354, "ERROR carries BLCR's errno after BEGIN's 360-byte handle");
  t.match(end, { severity: 'INFO', eventType: 2 });
});
