// Restores a test's own checkpoint images the way every restore test does: without FTB events
// unless asked, and every restored process marked as the test's own to kill at teardown
// (helpers/detached.ts).
import { type RestartOptions, restartDetailed } from '../../lib/index';
import { adopt } from './detached';

export async function restartAdopted(images: string, options: Omit<RestartOptions, 'dir'> = { ftb: false }) {
  const restored = await restartDetailed({ ...options, dir: images });
  for (const pid of new Set([restored.pid, ...restored.pids])) adopt(pid);
  return restored;
}
