import { Command, EXIT_FAILED, EXIT_OK, EXIT_USAGE, printError } from '../command';
import { checkpoint as run, CheckpointOptions, Scope } from '../../cr';

const scopes: Record<string, Scope> = { '--pid': 'process', '--pgid': 'pgid', '--sid': 'session', '--tree': 'tree' };

export const checkpoint: Command = {
  summary: 'Checkpoint a process, process group, session or tree (BLCR cr_checkpoint)',
  usage: [
    'Usage: crftb checkpoint (--pid|--pgid|--sid|--tree) ID (--dir DIR | --file FILE) [options]',
    '',
    '  --kill | --stop        afterwards kill or stop the checkpointed processes (default: leave running)',
    '  --timeout MS           give up waiting after MS milliseconds',
    '  --incremental          write only pages changed since DIR\'s previous checkpoint (CRIU)',
    '  --engine auto|criu|blcr',
    '  --allow-own-group      allow a scope that reaches this shell\'s process group or session',
    '  --no-ftb               do not publish FTB events',
    '  --json                 print the result as JSON',
  ].join('\n'),
  async run(args) {
    const options: CheckpointOptions = {};
    let json = false;
    for (let i = 0; i < args.length; i += 1) {
      const a = args[i];
      const value = () => {
        const v = args[++i];
        if (v === undefined) throw Object.assign(new Error(`${a} needs a value`), { usage: true });
        return v;
      };
      try {
        if (a in scopes) {
          options.scope = scopes[a];
          options.target = Number(value());
        } else if (a === '--dir') options.dir = value();
        else if (a === '--file') options.file = value();
        else if (a === '--kill') options.kill = true;
        else if (a === '--stop') options.stop = true;
        else if (a === '--timeout') options.timeoutMs = Number(value());
        else if (a === '--incremental') options.incremental = true;
        else if (a === '--engine') options.engine = value() as CheckpointOptions['engine'];
        else if (a === '--allow-own-group') options.allowOwnGroup = true;
        else if (a === '--no-ftb') options.ftb = false;
        else if (a === '--json') json = true;
        else throw Object.assign(new Error(`unknown option ${a}`), { usage: true });
      } catch (error) {
        process.stderr.write(`crftb checkpoint: ${(error as Error).message}\n${this.usage}\n`);
        return EXIT_USAGE;
      }
    }
    if (!options.target || !Number.isInteger(options.target) || options.target <= 0) {
      process.stderr.write(`crftb checkpoint: name what to checkpoint with --pid, --pgid, --sid or --tree\n${this.usage}\n`);
      return EXIT_USAGE;
    }
    try {
      const result = await run(options);
      if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else
        process.stdout.write(
          `checkpointed ${result.pids.join(' ')} with ${result.engine} into ${result.path} (${result.images.length} files, ${(result.bytes / 1048576).toFixed(1)} MiB${result.incremental ? ', incremental' : ''}) in ${result.seconds.toFixed(3)} s\n`,
        );
      return EXIT_OK;
    } catch (error) {
      printError(error);
      return EXIT_FAILED;
    }
  },
};
