/** One `fixloop <name>` command. `run` returns the process exit code. */
export interface CliCommand {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** The streams a command reads and writes; tests pass their own. */
export interface CliIo {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export const processIo = (): CliIo => ({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

/** A command line the command cannot run: printed with the command's usage, exit code 2. */
export class CliUsageError extends Error {}

/** The options a command takes: flags with a value (`--out F`, `--out=F`) and boolean flags. */
export interface OptionSpec {
  values?: readonly string[];
  booleans?: readonly string[];
}

/**
 * Parses a command's arguments against what it takes. Anything else (an unknown option, a
 * positional argument, a value given to a boolean flag, a value flag without one, an option given
 * twice) is a
 * `CliUsageError` naming it: a typo never silently runs the command another way.
 */
export function parseOptions(args: readonly string[], spec: OptionSpec = {}): Record<string, string | true> {
  const values = spec.values ?? [];
  const booleans = spec.booleans ?? [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--') || arg === '--') throw new CliUsageError(`unexpected argument ${arg}`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    if (name in flags) throw new CliUsageError(`--${name} is given twice`);
    if (booleans.includes(name)) {
      if (inline !== undefined) throw new CliUsageError(`--${name} takes no value`);
      flags[name] = true;
    } else if (values.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) {
        throw new CliUsageError(`--${name} needs a value`);
      }
      flags[name] = value;
    } else {
      throw new CliUsageError(`unknown option --${name}`);
    }
  }
  return flags;
}
