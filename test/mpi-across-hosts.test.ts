// An MPI job across two hosts (issue 15 §5): the token ring of test/mpi-ring under Open MPI over
// TCP, mpirun and rank 0 on host h0, Open MPI's daemon (orted) and ranks 1-2 on host h1 — network
// namespaces made here, mpirun's remote launch agent a script that enters h1's namespace (as ssh
// would: orted in a session of its own, not under mpirun). One JobCoordinator checkpoints the job
// with kill through a LauncherNode per host, each holding its host's tree and running its CRIU in
// its host's namespace, and restarts it on replacement hosts (fresh namespaces, same addresses).
// The ring must end as if never stopped: every token exactly once, rank 0's total right.
//
// What the cluster (here the test) must provide, and crftb does not do itself: the data network
// between hosts held (packets dropped, not answered) from before the first dump until the
// processes are killed — otherwise a host still running ACKs data a host already dumped never
// saw, and the restored streams are corrupt ("ORTE_ERROR_LOG: Data unpack would read past end of
// buffer") — and again from before the first restore until every host has restored (otherwise
// the host restored first is reset by the other: "writev failed: Connection reset by peer").
// Replacement hosts because the killed originals' sockets linger (TIME_WAIT) on the very ports
// the restore binds. README "Checkpointing MPI jobs" says the same.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CrftbProcess } from './helpers/crftb-process';
import { adopt, criuEnv, killStarted, tempDir, waitFor } from './helpers/detached';
import { MpiHosts } from './helpers/mpi-hosts';
import { adoptTree, compileRing, missing, MPIS, ringResult, tokensSeen } from './helpers/mpi';

t.teardown(killStarted);

const RANKS = 3;
const TOKENS = 60;
const EXPECTED = `${TOKENS} ${(TOKENS * (TOKENS + 1)) / 2}`;
const JOB = 'ringhosts';
const openMpi = MPIS.find((m) => m.name === 'Open MPI')!;
const network = new MpiHosts('mpix', 2, '10.215.0', '10.216.0');
const [h0, h1] = network.hosts;
const refused = missing(openMpi) ?? network.setup();

// Open MPI over TCP between hosts. shmem mmap: the default posix component leaves a deleted
// /dev/shm/open_mpi.0000 open in every process, and two hosts sharing this machine's /dev/shm
// then collide restoring it ("Can't create ghost regfile: File exists"); mmap files live in the
// per-hostname session directories instead.
function startJob(work: string, ring: string): number {
  const agent = path.join(work, 'rsh-agent.sh');
  const cases = network.hosts.map((h) => `  ${h.dataIp}) ns=${h.ns}; name=${h.name};;`).join('\n');
  fs.writeFileSync(
    agent,
    `#!/bin/sh\n# mpirun's remote launch agent: "$1" is the host, the rest orted's command line (for a shell).\naddr=$1; shift\ncase $addr in\n${cases}\n  *) echo "unknown host $addr" >&2; exit 1;;\nesac\n` +
      `exec nsenter --net=/run/netns/$ns unshare --uts --ipc setsid -f sh -c "hostname $name && exec $*" </dev/null >>${work}/orted-$name.log 2>&1\n`,
    { mode: 0o755 },
  );
  const out = fs.openSync(path.join(work, 'job.log'), 'a');
  const child = spawn(
    'nsenter',
    [
      `--net=/run/netns/${h0.ns}`,
      'unshare',
      '--uts',
      '--ipc',
      'sh',
      '-c',
      `hostname ${h0.name} && exec "$0" "$@"`,
      'mpirun.openmpi',
      '--allow-run-as-root',
      '--oversubscribe',
      '--mca',
      'plm_rsh_agent',
      agent,
      '--mca',
      'btl',
      'self,vader,tcp',
      '--mca',
      'shmem',
      'mmap',
      '--mca',
      'btl_tcp_if_include',
      'eth0',
      '--mca',
      'oob_tcp_if_include',
      'eth0',
      '--host',
      `${h0.dataIp}:1,${h1.dataIp}:${RANKS - 1}`,
      '-n',
      String(RANKS),
      ring,
      work,
      String(TOKENS),
      '100',
    ],
    { detached: true, stdio: ['ignore', out, out], cwd: work, env: { ...criuEnv(), UV_USE_IO_URING: '0' } },
  );
  fs.closeSync(out);
  if (child.pid === undefined) throw new Error('could not start mpirun');
  child.unref();
  adopt(child.pid);
  return child.pid;
}

// The orted of this job: the one living in h1's network namespace.
function ortedOnH1(): number | null {
  for (const entry of fs.readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'orted' && network.inHost(pid, h1)) return pid;
    } catch {
      /* gone */
    }
  }
  return null;
}

function exactlyOnce(tokens: number[]): { missing: number[]; repeated: number[] } {
  const counts = new Map<number, number>();
  for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
  return {
    missing: Array.from({ length: TOKENS }, (_, i) => i + 1).filter((n) => !counts.has(n)),
    repeated: [...counts].filter(([, c]) => c > 1).map(([n]) => n),
  };
}

if (refused) {
  t.test('an Open MPI job across two namespace hosts', { skip: refused }, async () => {});
} else {
  t.teardown(() => network.teardown());
  t.test(
    'an Open MPI job across two hosts is checkpointed with kill by one coordinator and restarted on replacement hosts',
    async (t) => {
      const work = tempDir('mpi-hosts');
      const imageRoot = path.join(work, 'ckpt');
      const procs: CrftbProcess[] = [];
      t.teardown(async () => {
        for (const p of procs) if (p.child.stdin?.writable) p.command({ op: 'quit' });
        for (const p of procs) await p.stop('SIGKILL');
      });
      const started = (p: CrftbProcess) => {
        procs.push(p);
        return p;
      };

      const agent = started(
        CrftbProcess.start(['agent', '--host', network.control.ip, '--port', '0', '--standalone'], {
          netns: network.control.ns,
        }),
      );
      const { port } = await agent.listening();
      const startNodes = async () => {
        const nodes = network.hosts.map((h) =>
          started(
            CrftbProcess.fixture('launcher-tree-node', [JOB, h.name, network.control.ip, String(port), imageRoot], {
              netns: h.ns,
              netOnly: true,
            }),
          ),
        );
        for (const n of nodes) await n.waitFor((l) => l.event === 'ready', 60_000);
        return nodes;
      };
      const coordinator = started(
        CrftbProcess.fixture('launcher-coordinator', [JOB, network.control.ip, String(port)], {
          netns: network.control.ns,
        }),
      );
      await coordinator.waitFor((l) => l.event === 'ready', 60_000);
      let nodes = await startNodes();

      const mpirun = startJob(work, compileRing(openMpi, work));
      await waitFor('the ring to pass 8 tokens', () => tokensSeen(work).length >= 8, 60_000);
      const orted = ortedOnH1();
      t.ok(orted, `h1 runs the job's orted (pid ${orted})`);
      adoptTree(mpirun);
      adoptTree(orted!);
      const trees = [
        { name: 'mpirun', pid: mpirun, options: openMpi.tree },
        { name: 'orted', pid: orted!, options: openMpi.tree },
      ];
      const register = async () => {
        for (const [i, tree] of trees.entries()) {
          nodes[i].command({ op: 'tree', ...tree });
          await nodes[i].waitFor((l) => l.event === 'tree');
        }
      };
      // Each node says ready once the agent has its subscriptions (a fence, helpers/ftb-fence.ts).
      await register();

      const result = async (op: 'checkpoint' | 'restart') => {
        const from = coordinator.lines.length;
        coordinator.command({ op, nodes: network.hosts.map((h) => h.name), name: 'gen1', timeoutMs: 120_000 });
        return (await coordinator.waitFor((l) => l.event === 'result' || l.event === 'failed', 150_000, from)).result;
      };
      // Each node's own record of its last operation (reported just after its answer).
      const served = async (n: CrftbProcess, op: string) =>
        (await n.waitFor((l) => l.event === 'served' && l.record.op === op, 30_000)).record;

      network.holdData(true);
      const checkpointed = await result('checkpoint');
      const dumped = await Promise.all(nodes.map((n) => served(n, 'checkpoint')));
      t.match(checkpointed, { ok: true, committed: true }, `checkpointed: ${JSON.stringify(dumped)}`);
      const atKill = tokensSeen(work).length;
      t.equal(ringResult(work), null, 'the ring had not ended when it was killed');

      for (const n of nodes) n.command({ op: 'quit' });
      for (const n of nodes) await n.exit();
      network.replaceHosts();
      nodes = await startNodes();
      await register();
      const restarted = await result('restart');
      const restored = await Promise.all(nodes.map((n) => served(n, 'restart')));
      t.match(restarted, { ok: true }, `restarted: ${JSON.stringify(restored)}`);
      network.holdData(false);
      const restoredPids = restored.map((r) => r?.trees?.[0]?.pid as number);
      for (const pid of restoredPids) if (pid > 0) adoptTree(pid);
      t.same(restoredPids, [mpirun, orted], 'each tree is back with its own pids, on its own host');
      t.comment(
        `across hosts: job checkpoint ${checkpointed.seconds?.toFixed(2)} s, job restart ${restarted.seconds?.toFixed(2)} s, ${atKill} of ${TOKENS} tokens passed at the kill`,
      );

      await waitFor('the restored ring to end', () => ringResult(work) !== null, 90_000);
      t.equal(ringResult(work), EXPECTED, "rank 0's result: the last token and the sum of every rank's tokens");
      t.same(
        exactlyOnce(tokensSeen(work)),
        { missing: [], repeated: [] },
        `every token 1..${TOKENS} exactly once across both hosts' ranks`,
      );
      const mpirunExit = await nodes[0].waitFor((l) => l.event === 'exited' && l.name === 'mpirun', 30_000);
      t.match(
        mpirunExit,
        { code: 0, signal: null },
        "the restored mpirun is h0's node's child: its exit status 0 reaches it",
      );
    },
  );
}
