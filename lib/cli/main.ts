import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type Command,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  UsageError,
  printError,
  wantsHelp,
  wantsJson,
} from './command';

// Commands load lazily so `crftb --help` does not pay for every subsystem.
const commands: Record<string, () => Command> = {
  doctor: () => require('./commands/doctor').doctor,

  'provision-criu': () => require('./commands/provision-criu').provisionCriu,

  events: () => require('./commands/events').events,

  agent: () => require('./commands/agent').agent,

  bootstrap: () => require('./commands/bootstrap').bootstrap,

  checkpoint: () => require('./commands/checkpoint').checkpoint,

  restart: () => require('./commands/restart').restart,

  demo: () => require('./commands/demo').demo,
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, load]) => `  ${name.padEnd(16)}${load().summary}`);
  return (
    `Usage: crftb <command> [options]\n       crftb help <command>\n       crftb --version\n\nCommands:\n${lines.join('\n')}\n\n` +
    `Run 'crftb help <command>' for a command's options. Exit codes: 0 success, 1 failure, 2 usage error.\n`
  );
}

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function unknownCommand(name: string, json: boolean): number {
  printError(new UsageError(`unknown command '${name}'`), json);
  if (!json) process.stderr.write(`\n${usage()}`);
  return EXIT_USAGE;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(usage());
    return name ? EXIT_OK : EXIT_USAGE;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return EXIT_OK;
  }
  if (name === 'help') {
    if (rest.length === 0) {
      process.stdout.write(usage());
      return EXIT_OK;
    }
    const load = commands[rest[0]];
    if (!load || rest.length > 1) return unknownCommand(rest.join(' '), false);
    process.stdout.write(`${load().usage}\n`);
    return EXIT_OK;
  }
  const json = wantsJson(rest);
  const load = commands[name];
  if (!load) return unknownCommand(name, json);
  const command = load();
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      printError(error, json, `crftb ${name}`);
      if (!json) process.stderr.write(`Run 'crftb help ${name}' for its options.\n`);
      return EXIT_USAGE;
    }
    printError(error, json);
    return EXIT_FAILED;
  }
}
