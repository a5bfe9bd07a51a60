import { adminAuth, ingestAuth, testDbKind, useTestApp } from '../../support/test-app';
import { IssueRow, issueLinks, issues, rowCounts, untilRow } from '../../fixtures/ingest-service/ingest-test-helpers';

let seq = 0;
const event = (message: string, extra: Record<string, unknown> = {}) => ({
  id: `mu-${++seq}-${Math.random().toString(36).slice(2)}`,
  source: 'checkout-api',
  feature: 'cache',
  message,
  ...extra,
});

/** A person's merges and undos through the HTTP API, with events sent through ingest between them. */
describe('merges and undos as an on-call engineer does them', () => {
  const t = useTestApp({}, { truncateEachTest: true });

  const send = (...events: Record<string, unknown>[]) =>
    t.http.post('/api/events').set(ingestAuth).send({ events }).expect(202);
  const merge = (from: string, into: string) => t.http.post(`/api/issues/${from}/merge`).set(adminAuth).send({ into });
  const unmerge = (identifier: string) => t.http.post(`/api/issues/${identifier}/unmerge`).set(adminAuth).send({});
  const byIdentifier = async (identifier: string): Promise<IssueRow> => {
    const rows = (await t.dataSource.query(`SELECT * FROM issues WHERE identifier = $1`, [identifier])) as IssueRow[];
    return rows[0];
  };
  const count = async (identifier: string) => (await byIdentifier(identifier)).event_count;
  const history = async (issueId: string) =>
    (await t.dataSource.query(
      `SELECT field, from_value, to_value, data, reason, actor FROM issue_history WHERE issue_id = $1 ORDER BY id`,
      [issueId],
    )) as { field: string; from_value: string | null; to_value: string | null; data: Record<string, unknown> | null }[];
  /** Issues whose count is not the sum of their links' counts, or merged issues that still hold links. */
  const countsDrift = async (): Promise<unknown[]> =>
    (await t.dataSource.query(
      `SELECT i.identifier, i.event_count, i.merged_into_id IS NOT NULL AS merged,
              COALESCE((SELECT sum(l.event_count) FROM external_issue_links l WHERE l.issue_id = i.id), 0) AS links
         FROM issues i
        WHERE i.merged_into_id IS NULL
              AND i.event_count <> COALESCE((SELECT sum(l.event_count) FROM external_issue_links l WHERE l.issue_id = i.id), 0)
           OR i.merged_into_id IS NOT NULL AND EXISTS (SELECT 1 FROM external_issue_links l WHERE l.issue_id = i.id)`,
    )) as unknown[];
  const cache = (node: string) => event(`Cache node ${node} unreachable`);

  it("files a variant of a merged issue's pattern on the target, and gives it back with the rest on undo", async () => {
    for (const node of ['n7a', 'x9c', 'r2d2']) await send(cache(node));
    await send({ ...event('Payment 4711 failed: gateway timeout'), feature: 'payments' });
    const [group, , other] = await issues(t.dataSource);
    await merge(group.identifier, other.identifier).expect(200);
    await send(cache('q1w'));
    expect(await count(other.identifier)).toBe('5');
    await unmerge(group.identifier).expect(200);
    const variant = (await issueLinks(t.dataSource)).find((l) => l.normalized_message === 'Cache node q1w unreachable');
    expect(variant).toMatchObject({ issue_id: group.id, link_kind: 'alias', grouping_rule: 'variable-position' });
    expect(await count(group.identifier)).toBe('4');
    expect(await count(other.identifier)).toBe('1');
    await send(cache('q1w'), cache('zz9'));
    expect(await count(group.identifier)).toBe('6');
    expect(await countsDrift()).toEqual([]);
  });

  it('undoes a chain out of order and then in order, with counts and history on every issue touched', async () => {
    await send(event('Alpha failure one'), event('Alpha failure one'));
    await send(event('Beta broken thing'));
    await send(event('Gamma other error here'));
    const [a, b, c] = await issues(t.dataSource);
    await merge(a.identifier, b.identifier).expect(200);
    await merge(b.identifier, c.identifier).expect(200);
    await send(event('Alpha failure one'));
    expect(await count(c.identifier)).toBe('5');
    await unmerge(a.identifier).expect(200);
    // (b stays closed with the count it had when it was merged on; its undo recounts it from its links)
    expect([await count(a.identifier), await count(c.identifier)]).toEqual(['3', '2']);
    expect(await history(c.id)).toContainEqual(
      expect.objectContaining({
        field: 'unmerged',
        from_value: a.identifier,
        data: { eventCount: 3, mergedInto: b.identifier },
      }),
    );
    await send(event('Alpha failure one'));
    expect(await count(a.identifier)).toBe('4');
    await unmerge(b.identifier).expect(200);
    expect([await count(a.identifier), await count(b.identifier), await count(c.identifier)]).toEqual(['4', '1', '1']);
    expect(await countsDrift()).toEqual([]);
    await unmerge(b.identifier).expect(409);
    await unmerge(a.identifier).expect(409);
  });

  it('refuses a merge into an issue merged away, of an issue merged away, or of an issue into itself', async () => {
    await send(event('Alpha failure one'));
    await send(event('Beta broken thing'));
    await send(event('Gamma other error here'));
    const [a, b, c] = await issues(t.dataSource);
    await merge(a.identifier, b.identifier).expect(200);
    const before = await rowCounts(t.dataSource);
    const intoMerged = await merge(c.identifier, a.identifier).expect(409);
    expect(intoMerged.body).toMatchObject({
      error: 'ISSUE_MERGE_TARGET_MERGED',
      message: expect.stringContaining(a.identifier),
    });
    expect((await merge(a.identifier, c.identifier).expect(409)).body.error).toBe('ISSUE_ALREADY_MERGED');
    expect((await merge(b.identifier, a.identifier).expect(409)).body.error).toBe('ISSUE_MERGE_TARGET_MERGED');
    expect((await merge(c.identifier, c.identifier).expect(400)).body.error).toBe('ISSUE_MERGE_SELF');
    expect((await unmerge(c.identifier).expect(409)).body.error).toBe('ISSUE_NOT_MERGED');
    expect(await rowCounts(t.dataSource)).toEqual(before);
  });

  if (testDbKind() === 'postgres') {
    it('files a variant arriving while an undo is in flight on the issue the undo gives its group back to', async () => {
      for (const node of ['n7a', 'x9c', 'r2d2']) await send(cache(node));
      await send({ ...event('Payment 4711 failed: gateway timeout'), feature: 'payments' });
      const [group, , other] = await issues(t.dataSource);
      await merge(group.identifier, other.identifier).expect(200);
      // the undo stops at its first history row (issue_history locked from another connection)
      const qr = t.dataSource.createQueryRunner();
      await qr.connect();
      await qr.startTransaction();
      await qr.query(`LOCK TABLE issue_history IN EXCLUSIVE MODE`);
      const undoing = unmerge(group.identifier).then((r) => r);
      await untilRow(
        t.dataSource,
        `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'issue_history' AND NOT l.granted`,
      );
      const filing = t.http
        .post('/api/events')
        .set(ingestAuth)
        .send({ events: [cache('q1w')] })
        .then((r) => r);
      // the variant waits, for the scope (or, without that lock, for the target's row)
      await untilRow(
        t.dataSource,
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
            AND query NOT LIKE '%issue_history%'`,
      );
      await qr.commitTransaction();
      await qr.release();
      expect([(await undoing).status, (await filing).status]).toEqual([200, 202]);
      const variant = (await issueLinks(t.dataSource)).find(
        (l) => l.normalized_message === 'Cache node q1w unreachable',
      );
      expect(variant).toMatchObject({ issue_id: group.id, original_issue_id: group.id, link_kind: 'alias' });
      expect([await count(group.identifier), await count(other.identifier)]).toEqual(['4', '1']);
      expect(await countsDrift()).toEqual([]);
    });

    it('lets exactly one of two concurrent merges of one pair through; the other is a 409', async () => {
      await send(event('Alpha failure one'));
      await send(event('Beta broken thing'));
      const [a, b] = await issues(t.dataSource);
      const results = await Promise.all([merge(a.identifier, b.identifier), merge(a.identifier, b.identifier)]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
      const [rows] = (await t.dataSource.query(`SELECT count(*)::int AS n FROM issue_merges`)) as { n: number }[];
      expect(Number(rows.n)).toBe(1);
      const crossed = await Promise.all([unmerge(a.identifier), unmerge(a.identifier)]);
      expect(crossed.map((r) => r.status).sort()).toEqual([200, 409]);
      const both = await Promise.all([merge(a.identifier, b.identifier), merge(b.identifier, a.identifier)]);
      expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
      expect(await countsDrift()).toEqual([]);
    });
  }
});
