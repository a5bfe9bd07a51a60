import { DataSource } from 'typeorm';
import { GroupingScopeVersions1764840000000 } from '../../../migrations/1764840000000-grouping-scope-versions';
import { DedupRepository } from '../../../src/modules/dedup/dedup.repository';
import { DedupService } from '../../../src/modules/dedup/dedup.service';
import type { GroupingScopeCache } from '../../../src/modules/dedup/grouping/grouping-scope-cache';
import { TestApp, ingestAuth, startTestApp, testDbKind, truncateAll, useTestApp } from '../../support/test-app';
import { issueLinks, issues } from '../../fixtures/ingest-service/ingest-test-helpers';
import { replayMigration } from '../../support/migration-replay';

/**
 * A replica keeps a scope's live groups in memory for new fingerprints (`GroupingScopeCache`) and
 * uses them only while the scope's version (`grouping_scope_versions`, set by a trigger on every
 * write to `grouping_groups`) is the one it stored them with.
 */
let seq = 0;
const cacheEvent = (node: string) => ({
  id: `evt-${++seq}-${Math.random().toString(36).slice(2)}`,
  source: 'checkout-api',
  feature: 'cache',
  message: `Cache node ${node} unreachable`,
});
const post = (t: TestApp, ...nodes: string[]) =>
  t.http
    .post('/api/events')
    .set(ingestAuth)
    .send({ events: nodes.map(cacheEvent) })
    .expect(202);

const version = async (ds: DataSource, source = 'checkout-api', feature = 'cache'): Promise<string | null> => {
  const rows = (await ds.query(
    `SELECT version::text AS version FROM grouping_scope_versions WHERE scope_source = $1 AND scope_feature = $2`,
    [source, feature],
  )) as { version: string }[];
  return rows[0]?.version ?? null;
};

const groupCount = async (ds: DataSource): Promise<number> =>
  Number(((await ds.query(`SELECT count(*)::int AS n FROM grouping_groups`)) as { n: number }[])[0].n);

/** Learns a variable at token 2 of the scope's oldest group, as another replica's merge would. */
const learnVariableElsewhere = (ds: DataSource, bypassTrigger = false) =>
  ds.transaction(async (m) => {
    if (bypassTrigger) await m.query(`SET LOCAL session_replication_role = replica`);
    await m.query(
      `UPDATE grouping_groups SET pattern = jsonb_set(pattern, '{2}', 'null'::jsonb)
        WHERE seq = (SELECT min(seq) FROM grouping_groups)`,
    );
  });

/** The link of the message `Cache node <node> unreachable`. */
const linkOf = async (ds: DataSource, node: string) =>
  (await issueLinks(ds)).find((l) => l.normalized_message === `Cache node ${node} unreachable`);

describe('grouping scope copies', () => {
  const t = useTestApp({}, { truncateEachTest: true });

  it('versions a scope on every write to its groups, with a value never used before, and not on a write rolled back', async () => {
    const ds = t.dataSource;
    expect(await version(ds)).toBeNull();
    const insert = (key: string, s: number, source = 'checkout-api') =>
      ds.query(
        `INSERT INTO grouping_groups (scope_source, scope_feature, key, seq, token_count, pattern)
         VALUES ($1, 'cache', $2, $3, 1, '["x"]')`,
        [source, key, s],
      );
    const seen = new Set<string>();
    const step = async (write: () => Promise<unknown>): Promise<string> => {
      await write();
      const v = await version(ds);
      expect(v).not.toBeNull();
      expect(seen.has(v as string)).toBe(false);
      seen.add(v as string);
      return v as string;
    };
    await step(() => insert('a', 0));
    await step(() => ds.query(`UPDATE grouping_groups SET evidence = '[{}]' WHERE key = 'a'`));
    await step(() => insert('b', 1));
    await step(() => ds.query(`DELETE FROM grouping_groups WHERE key = 'b'`));
    const other = await version(ds, 'web', 'cache');
    expect(other).toBeNull();
    const before = await version(ds);
    await insert('w', 0, 'web');
    expect(await version(ds)).toBe(before); // another scope's write leaves this one's version

    await expect(
      ds.transaction(async (m) => {
        await m.query(`UPDATE grouping_groups SET pattern = '["y"]' WHERE key = 'a'`);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await version(ds)).toBe(before);
    await step(() => ds.query(`UPDATE grouping_groups SET pattern = '["y"]' WHERE key = 'a'`));

    await ds.query(`TRUNCATE grouping_groups CASCADE`);
    expect(await version(ds)).toBeNull();
    expect(await version(ds, 'web', 'cache')).toBeNull();
    await step(() => insert('a', 0)); // a value after a TRUNCATE is new too
  });

  it("gives every scope that has groups a version when the migration runs on an older release's data", async () => {
    await post(t, 'n7a');
    await t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({ events: [{ source: 'billing', feature: 'invoices', message: 'Invoice export stalled' }] })
      .expect(202);
    await replayMigration(t.dataSource, new GroupingScopeVersions1764840000000());
    const rows = (await t.dataSource.query(
      `SELECT scope_source, scope_feature, version::text AS version FROM grouping_scope_versions ORDER BY scope_source`,
    )) as { scope_source: string; scope_feature: string; version: string }[];
    expect(rows.map((r) => [r.scope_source, r.scope_feature])).toEqual([
      ['billing', 'invoices'],
      ['checkout-api', 'cache'],
    ]);
    expect(new Set(rows.map((r) => r.version)).size).toBe(2);
    // and the trigger is back: the next variant's write moves the version on
    const before = await version(t.dataSource);
    await post(t, 'x9c');
    expect(await version(t.dataSource)).not.toBe(before);
  });

  it('decides from the scope as another writer left it: a variable learned there takes the next value in', async () => {
    await post(t, 'n7a');
    await post(t, 'x9c');
    const before = await version(t.dataSource);
    await learnVariableElsewhere(t.dataSource);
    expect(await version(t.dataSource)).not.toBe(before);

    await post(t, 'q1z');
    const [first, second] = await issues(t.dataSource);
    expect(await issues(t.dataSource)).toHaveLength(2);
    expect(second).toMatchObject({ status: 'triage', merged_into_id: null }); // nothing was merged
    expect(await linkOf(t.dataSource, 'q1z')).toMatchObject({
      issue_id: first.id,
      link_kind: 'alias',
      grouping_evidence: expect.objectContaining({ via: 'pattern' }),
    });
    expect(await groupCount(t.dataSource)).toBe(2); // it joined the group; no group of its own
  });

  it('decides from its copy while the scope version is unchanged (a write that skips the trigger goes unseen)', async () => {
    await post(t, 'n7a');
    await post(t, 'x9c');
    const before = await version(t.dataSource);
    await learnVariableElsewhere(t.dataSource, true);
    expect(await version(t.dataSource)).toBe(before);

    // the copy still has both groups literal at token 2: the third value makes a merge of its own
    await post(t, 'q1z');
    const [first, second] = await issues(t.dataSource);
    expect(second).toMatchObject({ status: 'closed', merged_into_id: first.id });
    expect(await linkOf(t.dataSource, 'q1z')).toMatchObject({
      issue_id: first.id,
      grouping_evidence: expect.objectContaining({ via: 'merge', values: ['n7a', 'x9c', 'q1z'] }),
    });
    expect(await groupCount(t.dataSource)).toBe(3);
  });

  it('keeps copies equal to the groups in the table through new groups, joins and merges, in one request or several', async () => {
    const nodes = ['n7a', 'x9c', 'r2d2', 'c3po', 'k8s', 'b52'];
    await post(t, nodes[0], nodes[1]);
    await post(t, nodes[2]);
    await post(t, ...nodes.slice(3));
    await t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({
        events: [
          { source: 'checkout-api', feature: 'cache', message: 'Cache shard s1 evicted under pressure' },
          { source: 'checkout-api', feature: 'cache', message: 'Cache node v9v unreachable' },
          { source: 'checkout-api', feature: 'cache', message: 'Cache shard s2 evicted under pressure' },
        ],
      })
      .expect(202);

    const copies = (t.app.get(DedupService) as unknown as { scopes: GroupingScopeCache }).scopes;
    const repo = t.app.get(DedupRepository);
    const now = await version(t.dataSource);
    let compared = 0;
    for (const tokens of [4, 6]) {
      const table = await repo.liveGroups(t.dataSource.manager, 'checkout-api', 'cache', tokens);
      const copy = copies.get('checkout-api', 'cache', tokens, now);
      if (copy === undefined) continue; // written over by a later write of another length
      expect([...copy].sort((a, b) => a.seq - b.seq)).toEqual(table);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    const merged = (await issues(t.dataSource)).filter((i) => i.merged_into_id !== null);
    expect(merged.length).toBeGreaterThan(0);
  });

  if (testDbKind() === 'postgres') {
    describe('with a second replica on the same database', () => {
      let b: TestApp;
      beforeAll(async () => {
        b = await startTestApp({}, { keepData: true });
      });
      afterAll(() => b.close());
      beforeEach(() => truncateAll(t.dataSource));

      it('sees the merge the other replica made and joins its pattern, without a group or merge of its own', async () => {
        await post(t, 'n7a');
        await post(t, 'x9c'); // replica A holds a copy with two literal groups
        await post(b, 'r2d2'); // replica B makes the merge
        const [first, second] = await issues(t.dataSource);
        expect(second).toMatchObject({ status: 'closed', merged_into_id: first.id });

        await post(t, 'c3po');
        expect(await linkOf(t.dataSource, 'c3po')).toMatchObject({
          issue_id: first.id,
          grouping_evidence: expect.objectContaining({ via: 'pattern' }),
        });
        expect(await groupCount(t.dataSource)).toBe(3);
        const merges = (await t.dataSource.query(`SELECT count(*)::int AS n FROM issue_merges`)) as { n: number }[];
        expect(merges[0].n).toBe(1);
      });
    });
  }
});
