// Bench target (started with setsid by bench/checkpoint.js, stdio on a file): holds a heap of
// argv[3] MiB (every page written), and on each SIGUSR2 checkpoints itself into argv[2]/self as
// argv[2]/request says ({ incremental }), appending {wallMs, seconds, frozen, bytes, incremental}
// to argv[2]/status.

const fs = require('node:fs');
const path = require('node:path');
const { checkpoint } = require(path.join(__dirname, '..', 'dist'));

const [work, mib] = [process.argv[2], Number(process.argv[3])];
const heap = Buffer.alloc(mib * 1024 * 1024);
for (let i = 0; i < heap.length; i += 4096) heap[i] = (i >> 12) & 0xff || 1;
let tick = 0;
setInterval(() => {
  heap[(++tick * 4096) % heap.length] ^= 1; // a few dirty pages between checkpoints
}, 10);
const status = (o) => fs.appendFileSync(path.join(work, 'status'), `${JSON.stringify(o)}\n`);
process.on('SIGUSR2', async () => {
  let incremental = false;
  try {
    incremental = JSON.parse(fs.readFileSync(path.join(work, 'request'), 'utf8')).incremental === true;
  } catch {}
  const start = process.hrtime.bigint();
  try {
    const r = await checkpoint({ dir: path.join(work, 'self'), incremental, ftb: false });
    if (r.restarted) return;
    status({
      wallMs: Number(process.hrtime.bigint() - start) / 1e6,
      seconds: r.seconds,
      frozen: r.frozenSeconds,
      bytes: r.bytes,
      incremental: r.incremental,
    });
  } catch (e) {
    status({ error: `${e.code}: ${e.message}` });
  }
});
status({ ready: true });
