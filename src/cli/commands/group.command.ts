import { InMemoryGroupingStore } from '../../modules/dedup/grouping/in-memory-grouping-store';
import { fingerprintMessage } from '../../modules/dedup/normalizer/fingerprint-message';
import { CliCommand, CliIo, parseOptions } from '../cli-command';
import { LineWriter, readMessages } from './normalize.command';

const USAGE = 'group [--source S] [--feature F] [--at-arrival] < messages.txt';

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
    const flags = parseOptions(args, { values: ['source', 'feature'], booleans: ['at-arrival'] });
    const source = typeof flags.source === 'string' ? flags.source : 'cli';
    const feature = typeof flags.feature === 'string' ? flags.feature : 'default';
    const atArrival = flags['at-arrival'] === true;

    const store = new InMemoryGroupingStore();
    const writer = new LineWriter(io.stdout);
    const fingerprints: string[] = [];
    for await (const message of readMessages(io)) {
      const filed = fingerprintMessage(source, feature, message);
      const assignment = store.assign(source, feature, filed.fingerprint, filed.normalized);
      if (!atArrival) fingerprints.push(assignment.fingerprint);
      else if (!(await writer.write(assignment.groupKey))) break;
    }
    for (const print of fingerprints) {
      if (!(await writer.write(store.currentGroupOf(source, feature, print) as string))) break;
    }
    await writer.flush();
    return 0;
  },
};
