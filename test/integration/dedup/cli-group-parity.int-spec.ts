import { PassThrough, Readable } from 'node:stream';
import { loghubContents } from '../../../bench/lib/loghub-csv';
import { groupCommand } from '../../../src/cli/commands/group.command';
import { FINGERPRINT_LINK_SOURCE } from '../../../src/modules/dedup/dedup.repository';
import { fingerprintMessage } from '../../../src/modules/dedup/normalizer/fingerprint-message';
import { ingestAuth, useTestApp } from '../../support/test-app';
import { sharedPath } from '../../support/shared-dir';

/** `fixloop group` (in process) over `messages`; one key per message. */
async function cliGroup(args: string[], messages: readonly string[]): Promise<string[]> {
  const stdout = new PassThrough();
  const out: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  const io = { stdin: Readable.from([`${messages.join('\n')}\n`]), stdout, stderr: new PassThrough() };
  expect(await groupCommand.run(args, io)).toBe(0);
  return out.join('').trimEnd().split('\n');
}

/**
 * Whether two labellings of the same messages make the same groups: one issue per key and one key
 * per issue (a key is a group's fingerprint, the service's rows have issue ids).
 */
function sameGrouping(keys: readonly string[], issueIds: readonly string[]): boolean {
  const issueOfKey = new Map<string, string>();
  const keyOfIssue = new Map<string, string>();
  return keys.every((key, i) => {
    const issue = issueIds[i];
    if ((issueOfKey.get(key) ?? issue) !== issue || (keyOfIssue.get(issue) ?? key) !== key) return false;
    issueOfKey.set(key, issue);
    keyOfIssue.set(issue, key);
    return true;
  });
}

/**
 * `fixloop group` prints the issue the running service files each message under: the same messages
 * sent one by one to the events API make the same groups, at arrival and once all are in (after
 * the merges the evidence led to). LogHub lines whose first 200 make merges.
 */
describe('fixloop group files messages as the service does', () => {
  const t = useTestApp({}, { truncateEachTest: true });

  const issueOf = async (fingerprint: string): Promise<string> => {
    const rows = (await t.dataSource.query(
      `SELECT issue_id FROM external_issue_links WHERE source = $1 AND external_id = $2`,
      [FINGERPRINT_LINK_SOURCE, fingerprint],
    )) as { issue_id: string }[];
    expect(rows).toHaveLength(1);
    return rows[0].issue_id;
  };

  it.each(['HDFS', 'Thunderbird'])('%s: the same groups at arrival and at the end', async (dataset) => {
    const messages = loghubContents(sharedPath('loghub', `${dataset}.csv`)).slice(0, 200);
    const scope = { source: 'loghub', feature: dataset.toLowerCase() };
    const args = ['--source', scope.source, '--feature', scope.feature];
    const atArrival = await cliGroup([...args, '--at-arrival'], messages);
    const atEnd = await cliGroup(args, messages);
    expect(atArrival).not.toEqual(atEnd); // these lines make merges: the two modes differ

    const prints = messages.map((m) => fingerprintMessage(scope.source, scope.feature, m).fingerprint);
    const arrivedAt: string[] = [];
    for (const [i, message] of messages.entries()) {
      await t.http
        .post('/api/events')
        .set(ingestAuth)
        .send({ events: [{ id: `${dataset}-${i}`, ...scope, message }] })
        .expect(202);
      arrivedAt.push(await issueOf(prints[i]));
    }
    const now: string[] = [];
    for (const print of prints) now.push(await issueOf(print));

    expect(sameGrouping(atArrival, arrivedAt)).toBe(true);
    expect(sameGrouping(atEnd, now)).toBe(true);
  });
});
