import { EXIT_INTERRUPTED, interruptible } from '../interruptible';
import { type Command, EXIT_FAILED, EXIT_OK, UsageError, printError } from '../command';
import { choiceOption, exclusiveFlags, integerOption, parseCommand } from '../args';
import { ENGINES, RETRY_FLAGS, RETRY_USAGE, retryOption, TUNING_FLAGS, tuningOptions } from '../choices';
import { restartDetailed, type RestartOptions } from '../../cr';

/** The command line as restart() options; every flag is checked here, before any request. */
function parse(args: string[]): { options: RestartOptions; json: boolean } {
  const { values } = parseCommand(args, {
    dir: { type: 'string' },
    file: { type: 'string' },
    engine: { type: 'string' },
    timeout: { type: 'string' },
    'no-ftb': { type: 'boolean' },
    ...TUNING_FLAGS,
    'reap-wait': { type: 'string' },
    ...RETRY_FLAGS,
    json: { type: 'boolean' },
  });
  exclusiveFlags(values, ['dir', 'file']);
  if (!values.dir && !values.file) throw new UsageError('pass --dir DIR (CRIU) or --file FILE (BLCR)');
  const options: RestartOptions = {
    dir: values.dir,
    file: values.file,
    engine: choiceOption('engine', values.engine, ENGINES),
    timeoutMs: integerOption('timeout', values.timeout, 1),
    ftb: values['no-ftb'] ? false : undefined,
    ...tuningOptions(values),
    reapWaitMs: integerOption('reap-wait', values['reap-wait'], 0),
    retry: retryOption(values, Boolean(values.json)),
  };
  return { options, json: Boolean(values.json) };
}

export const restart: Command = {
  summary: 'Restart processes from a checkpoint (BLCR cr_restart); prints the restored pids',
  usage: [
    'Usage: crftb restart (--dir DIR | --file FILE) [--engine auto|criu|blcr] [--timeout MS] [--no-ftb] [--json]',
    '                     [--connections close|keep|fail] [--network-lock auto|iptables|nftables] [--ext-unix-sockets] [--shell-job]',
    '                     [--reap-wait MS] [--retries N] [--retry-delay MS]',
    '',
    'Connections, sockets and sessions are restored as the checkpoint recorded; the options override that.',
    'The restored processes run detached from this command, with the pids they had.',
    '--reap-wait MS: how long to wait for checkpointed pids still held by zombies (default 5000);',
    'past it the restart fails EAGAIN, which --retries retries.',
    ...RETRY_USAGE,
    'With --json the result (or the error) is JSON on stdout.',
    '',
    'Exit codes: 0 restarted, 1 the restart failed, 2 usage error, 130 interrupted.',
  ].join('\n'),
  async run(args) {
    const { options, json } = parse(args);
    const {
      value: result,
      error,
      interrupted,
    } = await interruptible((signal) => restartDetailed({ ...options, signal }));
    if (!result) {
      printError(error, json);
      return interrupted ? EXIT_INTERRUPTED : EXIT_FAILED;
    }
    // `exited` is a promise for this process, which exits now: the restored root passes to init.
    const { exited: _exited, ...shown } = result;
    process.stdout.write(
      json
        ? `${JSON.stringify(shown)}\n`
        : `restarted ${result.pids.join(' ')} with ${result.engine} in ${result.seconds.toFixed(3)} s\n`,
    );
    return EXIT_OK;
  },
};
