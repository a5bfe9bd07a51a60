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
    // Without --at-arrival: each line's fingerprint as an index into the distinct ones (a number per
    // line, not a 64-character string: a million lines of input took 400 MB).
    const indexOf = new Map<string, number>();
    const distinct: string[] = [];
    const lines: number[] = [];
    for await (const message of readMessages(io)) {
      const filed = fingerprintMessage(source, feature, message);
      const assignment = store.assign(source, feature, filed.fingerprint, filed.normalized);
      if (atArrival) {
        if (!(await writer.write(assignment.groupKey))) break;
        continue;
      }
      let index = indexOf.get(assignment.fingerprint);
      if (index === undefined) {
        index = distinct.push(assignment.fingerprint) - 1;
        indexOf.set(assignment.fingerprint, index);
      }
      lines.push(index);
    }
    const groupOf = distinct.map((print) => store.currentGroupOf(source, feature, print) as string);
    for (const index of lines) {
      if (!(await writer.write(groupOf[index]))) break;
    }
    await writer.flush();
    return 0;
  },
};
