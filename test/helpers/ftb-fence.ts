// A fence for what this process's FTB clients sent: every FtbClient of a process shares one
// connection to its agent (lib/ftb/client.ts), which the agent reads in order. An event published
// now that comes back means the agent has read everything sent before it, the subscriptions of
// every client included, so a test waits for that instead of sleeping. It says nothing about
// other processes' traffic or about masks still travelling to other agents of a tree.
import { FtbClient } from '../../lib/ftb/client';
import type { FtbConnectOptions } from '../../lib/ftb/types';
import { waitFor } from './wait';

const SPACE = 'CRFTB.TEST.FENCE';

export async function ftbFence(ftb: FtbConnectOptions): Promise<void> {
  const client = await FtbClient.connect(
    { eventSpace: SPACE, clientName: 'fence', subscriptionStyle: 'FTB_SUBSCRIPTION_NOTIFY' },
    ftb,
  );
  try {
    client.declare([{ name: 'FENCE', severity: 'info' }]);
    let back = false;
    client.subscribe(`event_space=${SPACE}, event_name=FENCE`).on('event', () => {
      back = true;
    });
    client.publish('FENCE');
    await waitFor('the fence event to come back through the agent', () => back);
  } finally {
    await client.close();
  }
}
