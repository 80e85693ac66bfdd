import { EXIT_INTERRUPTED, interruptible } from '../interruptible';
import { Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE, printError } from '../command';
import { restartDetailed, RestartOptions } from '../../cr';

export const restart: Command = {
  summary: 'Restart processes from a checkpoint (BLCR cr_restart); prints the restored pids',
  usage: [
    'Usage: crftb restart (--dir DIR | --file FILE) [--engine auto|criu|blcr] [--timeout MS] [--no-ftb] [--json]',
    '                     [--connections close|keep|fail] [--network-lock auto|iptables|nftables] [--ext-unix-sockets] [--shell-job]',
    '                     [--reap-wait MS]',
    '',
    'Connections, sockets and sessions are restored as the checkpoint recorded; the options override that.',
    'The restored processes run detached from this command, with the pids they had.',
    '--reap-wait MS: how long to wait for checkpointed pids still held by zombies (default 5000).',
  ].join('\n'),
  async run(args) {
    const options: RestartOptions = {};
    let json = false;
    for (let i = 0; i < args.length; i += 1) {
      const a = args[i];
      const next = args[i + 1];
      if ((a === '--dir' || a === '--file' || a === '--engine' || a === '--timeout' || a === '--connections' || a === '--network-lock' || a === '--reap-wait') && next === undefined) {
        process.stderr.write(`crftb restart: ${a} needs a value\n${this.usage}\n`);
        return EXIT_USAGE;
      }
      if (a === '--dir') options.dir = args[++i];
      else if (a === '--file') options.file = args[++i];
      else if (a === '--engine') options.engine = args[++i] as RestartOptions['engine'];
      else if (a === '--timeout') options.timeoutMs = Number(args[++i]);
      else if (a === '--no-ftb') options.ftb = false;
      else if (a === '--connections') options.connections = args[++i] as RestartOptions['connections'];
      else if (a === '--network-lock') options.networkLock = args[++i] as RestartOptions['networkLock'];
      else if (a === '--ext-unix-sockets') options.extUnixSockets = true;
      else if (a === '--shell-job') options.shellJob = true;
      else if (a === '--reap-wait') options.reapWaitMs = Number(args[++i]);
      else if (a === '--json') json = true;
      else {
        process.stderr.write(`crftb restart: unknown option ${a}\n${this.usage}\n`);
        return EXIT_USAGE;
      }
    }
    if (!options.dir && !options.file) {
      process.stderr.write(`crftb restart: pass --dir or --file\n${this.usage}\n`);
      return EXIT_USAGE;
    }
    const { value: result, error, interrupted } = await interruptible((signal) => restartDetailed({ ...options, signal }));
    if (!result) {
      printError(error);
      return interrupted ? EXIT_INTERRUPTED : EXIT_FAILED;
    }
    process.stdout.write(json ? `${JSON.stringify(result)}\n` : `restarted ${result.pids.join(' ')} with ${result.engine} in ${result.seconds.toFixed(3)} s\n`);
    return EXIT_OK;
  },
};
