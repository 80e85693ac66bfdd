// FtbClient.connect checks every option for type and range (issue 13: one argument-reading layer
// for every binding): a port given as a string, a negative queue limit or a non-boolean
// `reconnect` is refused with EINVAL (errno 22) naming the option - never coerced into a silent
// default or 4,294,967,295 - and nothing connects.
import t from 'tap';
import { FtbClient } from '../lib/ftb/client';

const info = {
  eventSpace: 'CRFTB.TEST.OPTIONS',
  clientName: 'opts',
  subscriptionStyle: 'FTB_SUBSCRIPTION_NONE',
} as const;

t.test('bad connect options: EINVAL naming the option, nothing connects', async (t) => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ agentHost: '127.0.0.1', agentPort: '10809' }, /agentPort.*integer/],
    [{ agentHost: '127.0.0.1', agentPort: 70000 }, /agentPort.*1 to 65535/],
    [{ agentHost: '127.0.0.1', agentPort: 1.5 }, /agentPort/],
    [{ callbackQueueLimit: -1 }, /callbackQueueLimit/],
    [{ connectTimeoutMs: 'soon' }, /connectTimeoutMs/],
    [{ reconnect: 'yes' }, /reconnect.*boolean/],
    [{ agentHost: 127 }, /agentHost.*string/],
    [{ sendBacklogBytes: 0 }, /sendBacklogBytes/],
    [{ maxSubscriptions: -5 }, /maxSubscriptions/],
  ];
  for (const [options, message] of cases) {
    await t.rejects(
      FtbClient.connect(info, options as never),
      { code: 'EINVAL', errno: -22, message },
      JSON.stringify(options),
    );
  }
  t.equal(FtbClient.connectionStats().connected, false, 'no connection was made');
});
