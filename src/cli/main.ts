import { CliCommand, CliIo, CliUsageError, processIo } from './cli-command';
import { groupCommand } from './commands/group.command';
import { migrateCommand } from './commands/migrate.command';
import { normalizeCommand } from './commands/normalize.command';
import { openapiCommand } from './commands/openapi.command';
import { serveCommand } from './commands/serve.command';

/** Every `fixloop <command>`. */
export const COMMANDS: CliCommand[] = [serveCommand, migrateCommand, openapiCommand, normalizeCommand, groupCommand];

export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...args] = argv;
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const width = Math.max(...COMMANDS.map((c) => c.usage.length));
    const lines = COMMANDS.map((c) => `  fixloop ${c.usage.padEnd(width)}  ${c.summary}`);
    const usage = `usage: fixloop <command>\n\n${lines.join('\n')}\n`;
    // Help asked for is the output (stdout, 0); a missing or unknown command is an error (stderr, 2).
    if (name === 'help' || name === '--help' || name === '-h') {
      io.stdout.write(usage);
      return 0;
    }
    io.stderr.write(`${name === undefined ? 'missing command' : `unknown command: ${name}`}\n\n${usage}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`usage: fixloop ${command.usage}\n\n${command.summary}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    if (!(err instanceof CliUsageError)) throw err;
    io.stderr.write(`fixloop ${command.name}: ${err.message}\nusage: fixloop ${command.usage}\n`);
    return 2;
  }
}
