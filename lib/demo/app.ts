// The demo's application: a small Node program that counts, checkpoints itself once through
// crftb (which publishes CHKPT_BEGIN/END to the FTB agent from native code), and keeps counting.
// The copy restored later from that checkpoint resumes from the same point and says so.
// Usage: node app.js <imagesDir> <agentPort> [checkpointAtTick]
import { checkpoint } from '../cr';

const [dir, agentPortText, atText] = process.argv.slice(2);
const agentPort = Number(agentPortText);
const checkpointAt = Number(atText ?? 5);
let tick = 0;

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function checkpointNow(): Promise<void> {
  const result = await checkpoint({ dir, ftb: { agentHost: '127.0.0.1', agentPort } });
  if (result.restarted) say(`restored from the checkpoint taken at tick ${tick}; counting on (pid ${process.pid})`);
  else
    say(
      `checkpointed at tick ${tick}: ${(result.bytes / 1048576).toFixed(1)} MiB of images in ${result.seconds.toFixed(2)} s`,
    );
}

say(`app started (pid ${process.pid})`);
setInterval(() => {
  tick++;
  say(`tick ${tick}`);
  if (tick === checkpointAt) {
    checkpointNow().catch((error: { code?: string; message?: string }) =>
      say(`checkpoint failed: ${error.code}: ${error.message}`),
    );
  }
}, 250);
