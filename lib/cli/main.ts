import { Command, EXIT_USAGE, printError, wantsHelp, EXIT_FAILED } from './command';

// Commands load lazily so `crftb --help` does not pay for every subsystem.
const commands: Record<string, () => Command> = {
  doctor: () => require('./commands/doctor').doctor,

  events: () => require('./commands/events').events,

  agent: () => require('./commands/agent').agent,

  bootstrap: () => require('./commands/bootstrap').bootstrap,

  checkpoint: () => require('./commands/checkpoint').checkpoint,

  restart: () => require('./commands/restart').restart,

  demo: () => require('./commands/demo').demo,
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, load]) => `  ${name.padEnd(12)}${load().summary}`);
  return `Usage: crftb <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun 'crftb <command> --help' for a command's options.\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : EXIT_USAGE;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`crftb: unknown command '${name}'\n\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = load();
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    printError(error);
    return EXIT_FAILED;
  }
}
