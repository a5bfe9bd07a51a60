import { InMemoryGroupingStore } from '../../modules/dedup/grouping/in-memory-grouping-store';
import { fingerprintMessage } from '../../modules/dedup/normalizer/fingerprint-message';
import { CliCommand, CliIo, parseFlags } from '../cli-command';
import { LineWriter, readMessages } from './normalize.command';

const USAGE = 'fixloop group [--source S] [--feature F] [--at-arrival] < messages.txt';

/**
 * Prints, for each message on stdin (one per line, in order), the group (issue) key the service
 * would file it under, with the same scrubber, normaliser, fingerprint and grouping engine, in memory. By
 * default the group each message belongs to once all input is read (after the merges the evidence
 * led to); with `--at-arrival`, the group it got when it arrived (printed as it goes).
 */
export const groupCommand: CliCommand = {
  name: 'group',
  summary: 'Print the issue key of each message read from stdin (one per line).',
  usage: USAGE,
  async run(args: readonly string[], io: CliIo): Promise<number> {
    let flags: Record<string, string | true>;
    try {
      const parsed = parseFlags(args, ['at-arrival']);
      flags = parsed.flags;
      const unknown = Object.keys(flags).filter((flag) => !['source', 'feature', 'at-arrival'].includes(flag));
      if (parsed.positional.length > 0 || unknown.length > 0) {
        throw new Error(`unexpected argument ${[...parsed.positional, ...unknown.map((f) => `--${f}`)][0]}`);
      }
    } catch (error) {
      io.stderr.write(`${(error as Error).message}\nusage: ${USAGE}\n`);
      return 2;
    }
    const source = typeof flags.source === 'string' ? flags.source : 'cli';
    const feature = typeof flags.feature === 'string' ? flags.feature : 'default';
    const atArrival = flags['at-arrival'] === true;

    const store = new InMemoryGroupingStore();
    const writer = new LineWriter(io.stdout);
    const fingerprints: string[] = [];
    for await (const message of readMessages(io)) {
      const filed = fingerprintMessage(source, feature, message);
      const assignment = store.assign(source, feature, filed.fingerprint, filed.normalized);
      if (atArrival) await writer.write(assignment.groupKey);
      else fingerprints.push(assignment.fingerprint);
    }
    for (const print of fingerprints) {
      await writer.write(store.currentGroupOf(source, feature, print) as string);
    }
    await writer.flush();
    return 0;
  },
};
