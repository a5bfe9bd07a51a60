import { CliCommand, processIo } from './cli-command';
import { groupCommand } from './commands/group.command';
import { normalizeCommand } from './commands/normalize.command';

/** Every `fixloop <name>` command. */
export const commands: readonly CliCommand[] = [normalizeCommand, groupCommand];

/** Runs `fixloop <command> [args]`; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const io = processIo();
  const [name, ...args] = argv;
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) {
    const list = commands.map((candidate) => `  ${candidate.name.padEnd(12)} ${candidate.summary}`).join('\n');
    io.stderr.write(`${name === undefined ? '' : `unknown command: ${name}\n`}usage: fixloop <command> [args]\n${list}\n`);
    return name === undefined || name === '--help' || name === 'help' ? 0 : 2;
  }
  return command.run(args, io);
}
