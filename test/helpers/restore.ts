// Restores a test's own checkpoint images the way every restore test does: without FTB events,
// and every restored process marked as the test's own to kill at teardown (helpers/detached.ts).
import { restartDetailed } from '../../lib/index';
import { adopt } from './detached';

export async function restartAdopted(images: string) {
  const restored = await restartDetailed({ dir: images, ftb: false });
  for (const pid of new Set([restored.pid, ...restored.pids])) adopt(pid);
  return restored;
}
