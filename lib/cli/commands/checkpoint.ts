import path from 'node:path';
import { parseArgs } from 'node:util';
import { Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE, printError } from '../command';
import { showProgress } from '../progress';
import { EXIT_INTERRUPTED, interruptible } from '../interruptible';
import { checkpoint as run, CheckpointOptions, EngineName } from '../../cr';

const usage = [
  'Usage: crftb checkpoint PID [--tree | --pgid | --session] (--dir DIR | --file FILE) [options]',
  '',
  'Checkpoints process PID (default), the tree rooted at PID, process group PID or session PID',
  "(BLCR's cr_checkpoint). The images replace DIR's previous checkpoint only on success.",
  '',
  '  --kill | --stop        afterwards kill or stop the checkpointed processes (default: leave running)',
  '  --timeout MS           give up waiting after MS milliseconds',
  "  --incremental          write only pages changed since DIR's previous checkpoint (CRIU)",
  '  --connections close|keep|fail  established TCP connections: dumped closed (default), kept, or refused',
  '  --network-lock auto|iptables|nftables  the lock for --connections keep (default auto)',
  '  --ghost-limit BYTES     deleted-but-open file bytes CRIU may copy',
  '  --ext-unix-sockets     allow unix sockets connected outside the checkpoint',
  '  --shell-job            the processes belong to a terminal session',
  '  --engine auto|criu|blcr',
  "  --allow-own-group      allow a scope that reaches this shell's process group or session",
  '  --no-ftb               do not publish FTB events',
  '  --json                 print the result as JSON',
  '',
  'Ctrl-C stops the request: the processes are left running and unfinished images are removed',
  '(images already complete are committed, and it says so).',
  '',
  'Exit codes: 0 checkpointed, 1 the checkpoint failed, 2 usage error, 130 interrupted.',
].join('\n');

export const checkpoint: Command = {
  summary: 'Checkpoint a process, process group, session or tree (BLCR cr_checkpoint)',
  usage,
  async run(args) {
    let options: CheckpointOptions;
    let json = false;
    try {
      const { values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          tree: { type: 'boolean' },
          pgid: { type: 'boolean' },
          session: { type: 'boolean' },
          dir: { type: 'string' },
          file: { type: 'string' },
          kill: { type: 'boolean' },
          stop: { type: 'boolean' },
          timeout: { type: 'string' },
          incremental: { type: 'boolean' },
          connections: { type: 'string' },
          'network-lock': { type: 'string' },
          'ghost-limit': { type: 'string' },
          'ext-unix-sockets': { type: 'boolean' },
          'shell-job': { type: 'boolean' },
          engine: { type: 'string' },
          'allow-own-group': { type: 'boolean' },
          'no-ftb': { type: 'boolean' },
          json: { type: 'boolean' },
        },
      });
      const scopes = [values.tree && 'tree', values.pgid && 'pgid', values.session && 'session'].filter(Boolean);
      if (scopes.length > 1) throw new Error('choose one of --tree, --pgid and --session');
      const target = Number(positionals[0]);
      if (positionals.length !== 1 || !Number.isInteger(target) || target <= 0) throw new Error('name one PID to checkpoint');
      if (!values.dir && !values.file) throw new Error('pass --dir DIR (CRIU) or --file FILE (BLCR)');
      options = {
        target,
        scope: (scopes[0] as CheckpointOptions['scope']) || 'process',
        dir: values.dir,
        file: values.file,
        kill: values.kill,
        stop: values.stop,
        timeoutMs: values.timeout === undefined ? undefined : Number(values.timeout),
        incremental: values.incremental,
        connections: values.connections as CheckpointOptions['connections'],
        networkLock: values['network-lock'] as CheckpointOptions['networkLock'],
        ghostLimit: values['ghost-limit'] === undefined ? undefined : Number(values['ghost-limit']),
        extUnixSockets: values['ext-unix-sockets'],
        shellJob: values['shell-job'],
        engine: values.engine as EngineName | undefined,
        allowOwnGroup: values['allow-own-group'],
        ftb: values['no-ftb'] ? false : undefined,
      };
      json = Boolean(values.json);
    } catch (error) {
      process.stderr.write(`crftb checkpoint: ${(error as Error).message}\n\n${usage}\n`);
      return EXIT_USAGE;
    }
    const stop = showProgress(`checkpointing ${options.target}`, options.dir && path.dirname(path.resolve(options.dir)));
    const { value: result, error, interrupted } = await interruptible((signal) => run({ ...options, signal }));
    stop();
    if (!result) {
      printError(error);
      return interrupted ? EXIT_INTERRUPTED : EXIT_FAILED;
    }
    if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else
      process.stdout.write(
        `checkpointed ${result.pids.join(' ')} with ${result.engine} into ${result.path} (${result.images.length} files, ${(result.bytes / 1048576).toFixed(1)} MiB${result.incremental ? ', incremental' : ''}) in ${result.seconds.toFixed(3)} s\n`,
      );
    return EXIT_OK;
  },
};
