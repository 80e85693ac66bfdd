// The CLI's contract, on the real CLI in child processes: --version, `help <command>`, unknown
// options refused by every command, usage errors exit 2 naming the flag and start nothing, and
// under --json every failure is `{"error":{"code","message"}}` on stdout with the same exit code.
// Service commands (agent, bootstrap, events) run inside a network namespace made here, so even a
// broken validation could not put an agent on this host's network.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TestNetwork } from './helpers/netns';

const root = path.join(__dirname, '..');
const bin = path.join(root, 'bin', 'crftb.js');
const services = new Set(['agent', 'bootstrap', 'events']);
const commands = ['doctor', 'provision-criu', 'events', 'agent', 'bootstrap', 'checkpoint', 'restart', 'demo'];

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

let netns: string | undefined;

/** Runs the CLI; a run still going after 20 s is killed and reported as code null. */
function crftb(args: string[]): Promise<Outcome> {
  const inNetns = services.has(args[0]) && netns;
  const child = inNetns
    ? spawn('ip', ['netns', 'exec', netns!, process.execPath, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

// A process of our own to name as the checkpoint target, so no usage-error case ever names a pid
// this test did not start (validation fails first, but a regression must not reach anyone else).
const sleeper = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
const pid = String(sleeper.pid);
t.teardown(() => {
  sleeper.kill('SIGKILL');
});

t.before(() => {
  const network = new TestNetwork('cli', 1, '10.219.0');
  const why = network.setup();
  if (why) return; // service cases are then skipped below
  netns = network.hosts[0].ns;
  t.teardown(() => network.teardown());
});

t.test('--version prints the package version', async (t) => {
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const out = await crftb(['--version']);
  t.equal(out.code, 0);
  t.equal(out.stdout, `${version}\n`);
});

t.test("help <command> prints that command's usage", async (t) => {
  for (const name of commands) {
    const out = await crftb(['help', name]);
    t.equal(out.code, 0, `help ${name}`);
    t.match(out.stdout, new RegExp(`^Usage: crftb ${name}\\b`), `help ${name} shows its usage`);
  }
  const bad = await crftb(['help', 'nonsense']);
  t.equal(bad.code, 2, 'help for an unknown command is a usage error');
  t.match(bad.stderr, /unknown command 'nonsense'/);
});

t.test('every command refuses an unknown option with exit 2, naming it', async (t) => {
  for (const name of commands) {
    if (services.has(name) && !netns) continue;
    const out = await crftb([name, '--garbage']);
    t.equal(out.code, 2, `${name} --garbage exits 2`);
    t.match(out.stderr, /unknown option '--garbage'/, `${name} names the flag`);
    t.notMatch(out.stdout, /listening/, `${name} started nothing`);
  }
});

const usageErrors: [string[], RegExp][] = [
  [['checkpoint', pid, '--dir', '/nonexistent/x', '--kill', '--stop'], /--kill and --stop/],
  [['checkpoint', pid, '--dir', '/nonexistent/x', '--timeout', 'abc'], /--timeout needs an integer, got 'abc'/],
  [
    ['checkpoint', pid, '--dir', '/nonexistent/x', '--connections', 'bogus'],
    /--connections must be one of close, keep, fail/,
  ],
  [['checkpoint', pid, '--dir', '/nonexistent/x', '--engine', 'bogus'], /--engine must be one of auto, criu, blcr/],
  [['checkpoint', pid, '--dir', '/nonexistent/x', '--tree', '--pgid'], /--tree and --pgid/],
  [['checkpoint', pid, '--dir', '/nonexistent/x', '--file', '/nonexistent/y'], /--dir and --file/],
  [['checkpoint', 'abc', '--dir', '/nonexistent/x'], /PID must be one positive integer/],
  [['checkpoint', '--dir', '/nonexistent/x'], /name one PID/],
  [['checkpoint', pid], /pass --dir DIR/],
  [['restart'], /pass --dir DIR/],
  [['restart', '--dir'], /--dir needs a value/],
  [['restart', '--dir', '/nonexistent/x', '--connections', 'bogus'], /--connections must be one of/],
  [['restart', '--dir', '/nonexistent/x', '--network-lock', 'bogus'], /--network-lock must be one of/],
  [['agent', '--port', '99999'], /--port must be between 0 and 65535, got 99999/],
  [['agent', '--port', '0', '--stats-interval', 'abc'], /--stats-interval needs an integer/],
  [['agent', '--port', '0', '--bootstrap', 'host:70000'], /--bootstrap must be between 0 and 65535/],
  [['bootstrap', '--port', '0', '--fanout', 'x'], /--fanout needs an integer/],
  [['events', '--agent', '127.0.0.1:abc'], /--agent needs an integer/],
  [['events', '--count', '0'], /--count must be between 1/],
  [['events', 'a', 'b'], /one subscription string/],
];

t.test('usage errors exit 2, name the flag and start nothing', async (t) => {
  for (const [args, message] of usageErrors) {
    if (services.has(args[0]) && !netns) continue;
    const out = await crftb(args);
    t.equal(out.code, 2, `${args.join(' ')} exits 2`);
    t.match(out.stderr, message, `${args.join(' ')}: ${out.stderr.split('\n')[0]}`);
    t.match(out.stderr, new RegExp(`Run 'crftb help ${args[0]}'`), 'and says where the options are');
    t.notMatch(out.stdout, /listening/, 'nothing was started');
  }
});

t.test('under --json, failures are JSON on stdout with the same exit codes', async (t) => {
  for (const [args, message] of usageErrors) {
    if (services.has(args[0]) && !netns) continue;
    const out = await crftb([...args, '--json']);
    t.equal(out.code, 2, `${args.join(' ')} --json exits 2`);
    const parsed = JSON.parse(out.stdout);
    t.equal(parsed.error.code, 'ERR_USAGE');
    t.match(parsed.error.message, message);
  }
  const failed = await crftb(['restart', '--dir', '/nonexistent/images', '--json']);
  t.equal(failed.code, 1, 'an operation that fails exits 1');
  t.match(JSON.parse(failed.stdout), { error: { code: 'ENOENT', message: String } });
  const unknown = await crftb(['nonsense', '--json']);
  t.equal(unknown.code, 2);
  t.match(JSON.parse(unknown.stdout), { error: { code: 'ERR_USAGE', message: /unknown command 'nonsense'/ } });
});

t.test('without --json a failure goes to stderr with its code and exits 1', async (t) => {
  const out = await crftb(['restart', '--dir', '/nonexistent/images']);
  t.equal(out.code, 1);
  t.equal(out.stdout, '');
  t.match(out.stderr, /^crftb: ENOENT: /);
});
