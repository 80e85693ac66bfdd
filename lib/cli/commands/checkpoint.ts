import path from 'node:path';
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, printError } from '../command';
import { choiceOption, exclusiveFlags, integerOption, parseCommand } from '../args';
import { ENGINES, RETRY_FLAGS, RETRY_USAGE, retryOption, TUNING_FLAGS, tuningOptions } from '../choices';
import { showProgress } from '../progress';
import { EXIT_INTERRUPTED, interruptible } from '../interruptible';
import { checkpoint as run, type CheckpointOptions } from '../../cr';

const usage = [
  'Usage: crftb checkpoint PID [--tree | --pgid | --session] (--dir DIR | --file FILE) [options]',
  '',
  'Checkpoints process PID (default), the tree rooted at PID, process group PID or session PID',
  "(BLCR's cr_checkpoint). The images replace DIR's previous checkpoint only on success.",
  '',
  '  --kill | --stop        afterwards kill or stop the checkpointed processes (default: leave running)',
  '  --timeout MS           give up waiting after MS milliseconds (retries included)',
  ...RETRY_USAGE,
  "  --incremental          write only pages changed since DIR's previous checkpoint (CRIU)",
  '  --connections close|keep|fail  established TCP connections: dumped closed (default), kept, or refused',
  '  --network-lock auto|iptables|nftables  the lock for --connections keep (default auto)',
  '  --ghost-limit BYTES     deleted-but-open file bytes CRIU may copy',
  '  --ext-unix-sockets     allow unix sockets connected outside the checkpoint',
  '  --shell-job            the processes belong to a terminal session',
  '  --engine auto|criu|blcr',
  "  --allow-own-group      allow a scope that reaches this shell's process group or session",
  '  --no-ftb               do not publish FTB events',
  '  --json                 print the result (or the error) as JSON on stdout',
  '',
  'Ctrl-C stops the request: the processes are left running and unfinished images are removed',
  '(images already complete are committed, and it says so).',
  '',
  'Exit codes: 0 checkpointed, 1 the checkpoint failed, 2 usage error, 130 interrupted.',
].join('\n');

/** The command line as checkpoint() options; every flag is checked here, before any request. */
function parse(args: string[]): { options: CheckpointOptions; json: boolean } {
  const { values, positionals } = parseCommand(
    args,
    {
      tree: { type: 'boolean' },
      pgid: { type: 'boolean' },
      session: { type: 'boolean' },
      dir: { type: 'string' },
      file: { type: 'string' },
      kill: { type: 'boolean' },
      stop: { type: 'boolean' },
      timeout: { type: 'string' },
      incremental: { type: 'boolean' },
      ...TUNING_FLAGS,
      'ghost-limit': { type: 'string' },
      ...RETRY_FLAGS,
      engine: { type: 'string' },
      'allow-own-group': { type: 'boolean' },
      'no-ftb': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    true,
  );
  const scope = exclusiveFlags(values, ['tree', 'pgid', 'session']) as CheckpointOptions['scope'];
  exclusiveFlags(values, ['kill', 'stop']);
  exclusiveFlags(values, ['dir', 'file']);
  if (positionals.length !== 1 || !/^[1-9]\d*$/.test(positionals[0])) {
    throw new UsageError(
      positionals.length
        ? `PID must be one positive integer, got '${positionals.join(' ')}'`
        : 'name one PID to checkpoint',
    );
  }
  if (!values.dir && !values.file) throw new UsageError('pass --dir DIR (CRIU) or --file FILE (BLCR)');
  const options: CheckpointOptions = {
    target: Number(positionals[0]),
    scope: scope ?? 'process',
    dir: values.dir,
    file: values.file,
    kill: values.kill,
    stop: values.stop,
    timeoutMs: integerOption('timeout', values.timeout, 1),
    incremental: values.incremental,
    ...tuningOptions(values),
    ghostLimit: integerOption('ghost-limit', values['ghost-limit'], 0),
    retry: retryOption(values, Boolean(values.json)),
    engine: choiceOption('engine', values.engine, ENGINES),
    allowOwnGroup: values['allow-own-group'],
    ftb: values['no-ftb'] ? false : undefined,
  };
  return { options, json: Boolean(values.json) };
}

export const checkpoint: Command = {
  summary: 'Checkpoint a process, process group, session or tree (BLCR cr_checkpoint)',
  usage,
  async run(args) {
    const { options, json } = parse(args);
    const stop = showProgress(
      `checkpointing ${options.target}`,
      options.dir && path.dirname(path.resolve(options.dir)),
    );
    const { value: result, error, interrupted } = await interruptible((signal) => run({ ...options, signal }));
    stop();
    if (!result) {
      printError(error, json);
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
