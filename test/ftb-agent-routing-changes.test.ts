// The agent remembers which subscription buckets the last event space and name it routed can
// match (native/ftb/agent_router.h, BucketsFor). A subscription added or cancelled between two
// events of the same name must change where the second goes: a new bucket is routed to at once,
// a bucket that went away is never looked at again (the ASan run would see a freed one used).
import t from 'tap';
import { startAgent } from '../lib/ftb/agent';
import { RawClient } from './helpers/ftb-raw-client';
import { waitFor } from './helpers/wait';

const PUB = { eventSpace: 'FTB.TEST.PUB', clientName: 'pub' };
const BY_NAME = { eventSpace: 'FTB.TEST.SUBA', clientName: 'byname' };
const BY_SPACE = { eventSpace: 'FTB.TEST.SUBB', clientName: 'byspace' };

t.test('subscriptions added and cancelled between events of one name re-route the next event', async (t) => {
  const agent = await startAgent({ port: 0, bootstrap: false, advertiseAddress: '127.0.0.1' });
  agent.unref();
  t.teardown(() => agent.close());
  const port = agent.address.port;
  const byName = await RawClient.connect(port, 52001);
  const bySpace = await RawClient.connect(port, 52002);
  const pub = await RawClient.connect(port, 52003);
  t.teardown(() => [byName, bySpace, pub].forEach((c) => c.close()));
  byName.register(BY_NAME);
  bySpace.register(BY_SPACE);
  pub.register(PUB);
  byName.subscribe(BY_NAME, 'event_name=GOOD');
  await waitFor('the first subscription', () => agent.stats().subscriptions === 1);

  const first = pub.publish(PUB, 'GOOD', 'info', 1);
  t.equal((await byName.next(5000))?.['event.seqnum'], first, 'the name subscriber gets the first event');

  // Another bucket (by event space, not name) that did not exist when the first event was routed.
  bySpace.subscribe(BY_SPACE, 'event_space=FTB.TEST.PUB');
  await waitFor('the second subscription', () => agent.stats().subscriptions === 2);
  const second = pub.publish(PUB, 'GOOD', 'info', 1);
  t.equal((await bySpace.next(5000))?.['event.seqnum'], second, 'the subscription added since reaches it');
  t.equal((await byName.next(5000))?.['event.seqnum'], second, 'and the first one still does');

  // The name bucket goes away with its only mask.
  byName.cancel(BY_NAME, 'event_name=GOOD');
  await waitFor('the cancel', () => agent.stats().subscriptions === 1);
  const routed = agent.stats().eventsRouted;
  const third = pub.publish(PUB, 'GOOD', 'info', 1);
  t.equal((await bySpace.next(5000))?.['event.seqnum'], third, 'the remaining subscription gets the next');
  // One routing pass delivers to every match and the stats are taken after the pass: once it
  // counts this event, it counts all its deliveries.
  await waitFor('the stats to count the third event', () => agent.stats().eventsRouted > routed);
  t.equal(agent.stats().eventsRouted - routed, 1, 'and it alone: the cancelled one is not routed to');
});
