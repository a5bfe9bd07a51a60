import {
  FINGERPRINT_UPGRADE_RULE,
  FingerprintUpgradeService,
} from '../../../src/modules/dedup/fingerprint-upgrade.service';
import { FINGERPRINT_VERSION, fingerprint } from '../../../src/modules/dedup/normalizer/fingerprint';
import { normalizeMessage } from '../../../src/modules/dedup/normalizer/message-normalizer';
import { FINGERPRINT_VERSION_SETTING } from '../../../src/shared/database/runtime-settings';
import { LinkFingerprintVersion1764700000000 } from '../../../migrations/1764700000000-link-fingerprint-version';
import { ADVISORY_LOCKS } from '../../../src/shared/database/database-opener';
import { adminAuth, ingestAuth, testDbKind, useTestApp } from '../../support/test-app';
import { IssueRow, issueLinks, issues, untilRow } from '../../fixtures/ingest-service/ingest-test-helpers';
import { replayMigration } from '../../support/migration-replay';

const SOURCE = 'checkout-api';
const FEATURE = 'cache';
let seq = 0;
const event = (message: string) => ({
  id: `up-${++seq}-${Math.random().toString(36).slice(2)}`,
  source: SOURCE,
  feature: FEATURE,
  message,
});

describe('fingerprint upgrade: a normaliser change files new fingerprints as aliases of the same issue', () => {
  const t = useTestApp({}, { truncateEachTest: true });
  let upgrade: FingerprintUpgradeService;

  beforeAll(() => {
    upgrade = t.app.get(FingerprintUpgradeService);
  });

  const send = (...messages: string[]) =>
    t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({ events: messages.map(event) })
      .expect(202);
  const links = () => issueLinks(t.dataSource);
  const storedVersion = async (): Promise<unknown> =>
    (
      (await t.dataSource.query(`SELECT value FROM runtime_settings WHERE key = $1`, [
        FINGERPRINT_VERSION_SETTING,
      ])) as {
        value: unknown;
      }[]
    )[0]?.value;
  const historyOf = async (issueId: string, field: string) =>
    (await t.dataSource.query(
      `SELECT from_value, to_value, reason, data, actor FROM issue_history WHERE issue_id = $1 AND field = $2 ORDER BY id`,
      [issueId, field],
    )) as {
      from_value: string | null;
      to_value: string | null;
      reason: string;
      data: Record<string, unknown>;
      actor: string;
    }[];

  /**
   * Rewrites the fingerprint an issue was filed under as the previous normaliser made it (the
   * template `oldTemplate`), as a database written by that version would hold it (the link made by
   * `version`: 1, or null for a release that did not record it), and records version 1.
   */
  async function asFiledByVersion1(
    message: string,
    oldTemplate: string,
    version: number | null = 1,
  ): Promise<{ oldFp: string; newFp: string }> {
    const newFp = fingerprint(SOURCE, FEATURE, normalizeMessage(message));
    const oldFp = fingerprint(SOURCE, FEATURE, oldTemplate);
    expect(oldFp).not.toBe(newFp);
    await t.dataSource.query(
      `UPDATE external_issue_links SET external_id = $2, normalized_message = $3, token_count = $4, fingerprint_version = $5
        WHERE external_id = $1`,
      [newFp, oldFp, oldTemplate, oldTemplate.split(' ').length, version],
    );
    await t.dataSource.query(`UPDATE error_events SET fingerprint = $2 WHERE fingerprint = $1`, [newFp, oldFp]);
    await t.dataSource.query(
      `UPDATE grouping_groups SET key = $2, pattern = $3::jsonb, token_count = $4 WHERE key = $1`,
      [newFp, oldFp, JSON.stringify(oldTemplate.split(' ')), oldTemplate.split(' ').length],
    );
    await t.dataSource.query(
      `INSERT INTO runtime_settings (key, value, updated_by) VALUES ($1, '1'::jsonb, 'test')
       ON CONFLICT (key) DO UPDATE SET value = '1'::jsonb`,
      [FINGERPRINT_VERSION_SETTING],
    );
    return { oldFp, newFp };
  }

  it('files the new fingerprint of an old issue as its alias, so later events count on that issue; once', async () => {
    await send('Upstream call took 35 ms on replica');
    const { oldFp, newFp } = await asFiledByVersion1(
      'Upstream call took 35 ms on replica',
      'Upstream call took * ms on replica',
    );
    const [issue] = await issues(t.dataSource);

    await expect(upgrade.run()).resolves.toEqual({
      from: 1,
      to: FINGERPRINT_VERSION,
      linksChecked: 1,
      aliasesAdded: 1,
      collisions: 0,
      patternsRelearned: 1,
      merges: 0,
    });

    const [old, alias] = await links();
    expect(old).toMatchObject({ external_id: oldFp, issue_id: issue.id, link_kind: 'primary' });
    expect(alias).toMatchObject({
      external_id: newFp,
      issue_id: issue.id,
      original_issue_id: issue.id,
      link_kind: 'alias',
      grouping_rule: FINGERPRINT_UPGRADE_RULE,
      normalized_message: 'Upstream call took * on replica',
      event_count: '0',
      grouping_evidence: {
        rule: FINGERPRINT_UPGRADE_RULE,
        fromVersion: 1,
        toVersion: FINGERPRINT_VERSION,
        previousFingerprint: oldFp,
      },
    });
    expect(await historyOf(issue.id, 'fingerprint_alias')).toEqual([
      expect.objectContaining({ from_value: oldFp, to_value: newFp, actor: 'system:dedup' }),
    ]);
    expect(await storedVersion()).toBe(FINGERPRINT_VERSION);

    // the next occurrence follows the alias: no second issue
    await send('Upstream call took 40 ms on replica');
    const after = await issues(t.dataSource);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: issue.id, event_count: '2' });
    expect((await links()).find((l) => l.external_id === newFp)?.event_count).toBe('1');

    // the version is recorded: a second start does nothing
    await expect(upgrade.run()).resolves.toMatchObject({ from: FINGERPRINT_VERSION, linksChecked: 0, aliasesAdded: 0 });
    expect(await links()).toHaveLength(2);
  });

  it('leaves a new fingerprint that another issue already owns with that issue, and says so in both histories', async () => {
    await send('Upstream call took 35 ms on replica');
    const { oldFp, newFp } = await asFiledByVersion1(
      'Upstream call took 35 ms on replica',
      'Upstream call took * ms on replica',
    );
    // filed by the new normaliser meanwhile: the same template, another issue
    await send('Upstream call took 2 hours on replica');
    const [first, second] = (await issues(t.dataSource)) as IssueRow[];
    expect(second).toBeDefined();

    // only the old link is behind: the other was made by this version
    await expect(upgrade.run()).resolves.toMatchObject({ linksChecked: 1, aliasesAdded: 0, collisions: 1 });

    expect((await links()).map((l) => [l.external_id, l.issue_id])).toEqual([
      [oldFp, first.id],
      [newFp, second.id],
    ]);
    const [onFirst] = await historyOf(first.id, 'fingerprint_collision');
    const [onSecond] = await historyOf(second.id, 'fingerprint_collision');
    expect(onFirst).toMatchObject({ to_value: second.id, data: expect.objectContaining({ fingerprint: newFp }) });
    expect(onSecond).toMatchObject({
      to_value: first.id,
      data: expect.objectContaining({ previousFingerprint: oldFp }),
    });
  });

  it('gives a fingerprint two old issues now share to the older one; the other records the collision', async () => {
    await send('Upstream call took 35 ms on replica');
    const a = await asFiledByVersion1('Upstream call took 35 ms on replica', 'Upstream call took * ms on replica');
    await send('Upstream call took 2 hours on replica');
    const b = await asFiledByVersion1('Upstream call took 2 hours on replica', 'Upstream call took * hours on replica');
    expect(b.newFp).toBe(a.newFp);
    const [older, newer] = await issues(t.dataSource);

    await expect(upgrade.run()).resolves.toMatchObject({ linksChecked: 2, aliasesAdded: 1, collisions: 1 });

    expect((await links()).find((l) => l.external_id === a.newFp)).toMatchObject({ issue_id: older.id });
    expect(await historyOf(newer.id, 'fingerprint_collision')).toEqual([
      expect.objectContaining({ to_value: older.id, data: expect.objectContaining({ previousFingerprint: b.oldFp }) }),
    ]);
  });

  it('reads the links page by page', async () => {
    const words = ['alpha', 'bravo', 'charlie'];
    for (const w of words) {
      await send(`Upstream ${w} took 35 ms on replica`);
      await asFiledByVersion1(`Upstream ${w} took 35 ms on replica`, `Upstream ${w} took * ms on replica`);
    }
    upgrade.pageSize = 1;
    try {
      await expect(upgrade.run()).resolves.toMatchObject({ linksChecked: 3, aliasesAdded: 3, collisions: 0 });
    } finally {
      upgrade.pageSize = 500;
    }
    expect((await links()).filter((l) => l.grouping_rule === FINGERPRINT_UPGRADE_RULE)).toHaveLength(3);
  });

  it('files the alias of a merged issue with the issue it is merged into, and an unmerge takes it back', async () => {
    await send('Upstream call took 35 ms on replica');
    const { newFp } = await asFiledByVersion1(
      'Upstream call took 35 ms on replica',
      'Upstream call took * ms on replica',
    );
    await send('Ledger write rejected: lock timeout');
    const [merged, target] = (await issues(t.dataSource)) as IssueRow[];
    await t.http
      .post(`/api/issues/${merged.identifier}/merge`)
      .set(adminAuth)
      .send({ into: target.identifier })
      .expect(200);

    await expect(upgrade.run()).resolves.toMatchObject({ aliasesAdded: 1 });
    expect((await links()).find((l) => l.external_id === newFp)).toMatchObject({
      issue_id: target.id,
      original_issue_id: merged.id,
      link_kind: 'alias',
    });

    await t.http.post(`/api/issues/${merged.identifier}/unmerge`).set(adminAuth).send({}).expect(200);
    expect((await links()).find((l) => l.external_id === newFp)).toMatchObject({
      issue_id: merged.id,
      link_kind: 'alias',
      grouping_rule: FINGERPRINT_UPGRADE_RULE,
    });
  });

  it('learns grouping patterns again, so a variant first seen after the upgrade joins its merged issue', async () => {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    const message = (w: string, ms: number) => `Upstream ${w} took ${ms} ms on replica`;
    await send(...words.map((w) => message(w, 35)));
    const [survivor, ...absorbed] = await issues(t.dataSource);
    // the fifth word made the evidence: its template joined the survivor at once
    expect(absorbed.map((i) => i.merged_into_id)).toEqual(words.slice(1, 4).map(() => survivor.id));
    // as version 1 filed them: `* ms`, seven tokens, the word at position 1 learned as a variable
    const old = [];
    for (const w of words) old.push(await asFiledByVersion1(message(w, 35), `Upstream ${w} took * ms on replica`));
    await t.dataSource.query(`UPDATE grouping_groups SET merged_into = $2 WHERE merged_into = $1`, [
      old[0].newFp,
      old[0].oldFp,
    ]);
    const oldPattern = ['Upstream', null, 'took', '*', 'ms', 'on', 'replica'];
    await t.dataSource.query(`UPDATE grouping_groups SET pattern = $2::jsonb WHERE key = $1`, [
      old[0].oldFp,
      JSON.stringify(oldPattern),
    ]);

    await expect(upgrade.run()).resolves.toMatchObject({ linksChecked: 5, aliasesAdded: 5, patternsRelearned: 1 });

    const groups = (await t.dataSource.query(
      `SELECT key, pattern, token_count FROM grouping_groups WHERE merged_into IS NULL`,
    )) as { key: string; pattern: unknown; token_count: number }[];
    expect(groups).toEqual([
      { key: old[0].oldFp, pattern: ['Upstream', null, 'took', '*', 'on', 'replica'], token_count: 6 },
    ]);

    // a word never seen before: under the old pattern it would have started a fifth issue
    await send(message('foxtrot', 12));
    expect(await issues(t.dataSource)).toHaveLength(4);
    const link = (await links()).find((l) => l.normalized_message === 'Upstream foxtrot took * on replica');
    expect(link).toMatchObject({ issue_id: survivor.id, link_kind: 'alias', grouping_rule: 'variable-position' });
    expect(link?.grouping_evidence).toMatchObject({ via: 'pattern', group: old[0].oldFp });

    // learned once: a second run has nothing to do
    await expect(upgrade.run()).resolves.toMatchObject({ linksChecked: 0, patternsRelearned: 0 });
  });

  it('merges an issue opened for a variant the old pattern missed, once the pattern is learned again', async () => {
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    const message = (w: string, ms: number) => `Upstream ${w} took ${ms} ms on replica`;
    await send(...words.map((w) => message(w, 35)));
    const old = [];
    for (const w of words) old.push(await asFiledByVersion1(message(w, 35), `Upstream ${w} took * ms on replica`));
    await t.dataSource.query(`UPDATE grouping_groups SET merged_into = $2 WHERE merged_into = $1`, [
      old[0].newFp,
      old[0].oldFp,
    ]);
    await t.dataSource.query(`UPDATE grouping_groups SET pattern = $2::jsonb WHERE key = $1`, [
      old[0].oldFp,
      JSON.stringify(['Upstream', null, 'took', '*', 'ms', 'on', 'replica']),
    ]);
    // a variant filed before the pattern was learned again (as a replica of the previous release
    // would file it during a rolling deploy) found no group of its length: a second open issue
    await send(message('foxtrot', 12));
    const open = (await issues(t.dataSource)).filter((i) => i.merged_into_id === null);
    expect(open).toHaveLength(2);
    const [survivor, split] = open;

    await expect(upgrade.run()).resolves.toMatchObject({ aliasesAdded: 5, patternsRelearned: 1, merges: 1 });

    expect((await issues(t.dataSource)).find((i) => i.id === split.id)).toMatchObject({
      status: 'closed',
      merged_into_id: survivor.id,
    });
    const [merge] = (await t.dataSource.query(
      `SELECT target_issue_id, merged_issue_id, rule, evidence, actor FROM issue_merges WHERE merged_issue_id = $1`,
      [split.id],
    )) as { target_issue_id: string; rule: string; evidence: Record<string, unknown>; actor: string }[];
    expect(merge).toMatchObject({
      target_issue_id: survivor.id,
      rule: 'variable-position',
      actor: 'system:dedup',
      evidence: expect.objectContaining({ position: 1, values: ['foxtrot'] }),
    });
    // the next variant counts on the surviving issue
    await send(message('golf', 9));
    expect((await issues(t.dataSource)).filter((i) => i.merged_into_id === null).map((i) => i.id)).toEqual([
      survivor.id,
    ]);
  });

  it('leaves out of a pattern the templates a person merged in, which belong to other groups', async () => {
    await send('Upstream call took 35 ms on replica');
    await asFiledByVersion1('Upstream call took 35 ms on replica', 'Upstream call took * ms on replica');
    // one token apart from the first issue's new template: counted in, it would make that token a variable
    await send('Upstream call took 35 ms on primary');
    const [target, merged] = (await issues(t.dataSource)) as IssueRow[];
    await t.http
      .post(`/api/issues/${merged.identifier}/merge`)
      .set(adminAuth)
      .send({ into: target.identifier })
      .expect(200);

    await expect(upgrade.run()).resolves.toMatchObject({ aliasesAdded: 1, patternsRelearned: 1 });

    const patterns = (await t.dataSource.query(`SELECT pattern FROM grouping_groups WHERE issue_id = $1`, [
      target.id,
    ])) as { pattern: unknown }[];
    expect(patterns).toEqual([{ pattern: ['Upstream', 'call', 'took', '*', 'on', 'replica'] }]);
  });

  it('sweeps links that a replica of the previous release writes after the upgrade, once', async () => {
    await expect(upgrade.run()).resolves.toMatchObject({ linksChecked: 0 });
    // during a rolling deploy a replica still on the previous release files a new error its way,
    // without a version on the link
    await send('Upstream call took 35 ms on replica');
    const { oldFp, newFp } = await asFiledByVersion1(
      'Upstream call took 35 ms on replica',
      'Upstream call took * ms on replica',
      null,
    );
    const [issue] = await issues(t.dataSource);

    await expect(upgrade.sweep()).resolves.toMatchObject({ linksChecked: 1, aliasesAdded: 1, patternsRelearned: 1 });
    expect((await links()).find((l) => l.external_id === newFp)).toMatchObject({
      issue_id: issue.id,
      grouping_rule: FINGERPRINT_UPGRADE_RULE,
      grouping_evidence: expect.objectContaining({ fromVersion: null, previousFingerprint: oldFp }),
    });
    const versions = (await t.dataSource.query(
      `SELECT external_id, fingerprint_version FROM external_issue_links ORDER BY created_at`,
    )) as { external_id: string; fingerprint_version: number }[];
    expect(versions).toEqual([
      { external_id: oldFp, fingerprint_version: FINGERPRINT_VERSION },
      { external_id: newFp, fingerprint_version: FINGERPRINT_VERSION },
    ]);
    await expect(upgrade.sweep()).resolves.toMatchObject({ linksChecked: 0, aliasesAdded: 0 });

    await send('Upstream call took 40 ms on replica');
    expect(await issues(t.dataSource)).toHaveLength(1);
  });

  it('checks links behind its own version only: a link a newer release made is left alone', async () => {
    await send('Upstream call took 35 ms on replica');
    await t.dataSource.query(`UPDATE external_issue_links SET fingerprint_version = $1`, [FINGERPRINT_VERSION + 1]);
    await expect(upgrade.sweep()).resolves.toMatchObject({ linksChecked: 0 });
    expect((await links())[0]).toMatchObject({ fingerprint_version: FINGERPRINT_VERSION + 1 });
  });

  if (testDbKind() === 'postgres') {
    /**
     * Runs `body` with the link inserts that `when` (SQL on NEW) matches paused: a trigger makes them
     * wait for an advisory lock held here. `body` gets `paused()` (resolves once an insert waits) and
     * `resume()`; the lock, trigger and function are gone afterwards.
     */
    async function withLinkInsertsPaused(
      when: string,
      body: (pause: { paused(): Promise<void>; resume(): Promise<void> }) => Promise<void>,
    ): Promise<void> {
      const PAUSE = 7_310_001;
      await t.dataSource.query(`CREATE FUNCTION test_pause_link_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF ${when} THEN PERFORM pg_advisory_xact_lock_shared(${PAUSE}); END IF;
          RETURN NEW;
        END $$`);
      await t.dataSource.query(`CREATE TRIGGER test_pause_link_insert BEFORE INSERT ON external_issue_links
        FOR EACH ROW EXECUTE FUNCTION test_pause_link_insert()`);
      const holder = t.dataSource.createQueryRunner();
      await holder.connect();
      try {
        await holder.query('SELECT pg_advisory_lock($1)', [PAUSE]);
        await body({
          paused: () =>
            untilRow(
              t.dataSource,
              `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = ${PAUSE} AND NOT granted`,
            ),
          resume: async () => {
            await holder.query('SELECT pg_advisory_unlock($1)', [PAUSE]);
          },
        });
      } finally {
        await holder.query('SELECT pg_advisory_unlock_all()');
        await holder.release();
        await t.dataSource.query('DROP TRIGGER test_pause_link_insert ON external_issue_links');
        await t.dataSource.query('DROP FUNCTION test_pause_link_insert()');
      }
    }

    it('leaves the sweep to the replica that holds the lock', async () => {
      const other = t.dataSource.createQueryRunner();
      await other.connect();
      try {
        await other.startTransaction();
        await other.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.fingerprintUpgrade]);
        await expect(upgrade.sweep()).resolves.toBeNull();
        await other.commitTransaction();
      } finally {
        await other.release();
      }
      await expect(upgrade.sweep()).resolves.toMatchObject({ linksChecked: 0 });
    });

    it('makes a merge of the issue wait for a sweep that has read its links, so the new alias moves with it', async () => {
      await send('Upstream call took 35 ms on replica');
      const { newFp } = await asFiledByVersion1(
        'Upstream call took 35 ms on replica',
        'Upstream call took * ms on replica',
        null,
      );
      await send('Ledger write rejected: lock timeout');
      const [merged, target] = (await issues(t.dataSource)) as IssueRow[];
      // The sweep pauses where it files the alias, after reading the links.
      await withLinkInsertsPaused('true', async ({ paused, resume }) => {
        const sweeping = upgrade.sweep();
        await paused();
        const merging = t.http
          .post(`/api/issues/${merged.identifier}/merge`)
          .set(adminAuth)
          .send({ into: target.identifier })
          .then((res) => res);
        // Either the merge waits for the sweep's lock on the links it read (right), or it finishes
        // first and the alias the sweep files next lands on the merged-away issue (wrong).
        await Promise.race([
          merging,
          untilRow(t.dataSource, `SELECT 1 FROM pg_locks WHERE locktype IN ('transactionid', 'tuple') AND NOT granted`),
        ]);
        await resume();
        await expect(sweeping).resolves.toMatchObject({ aliasesAdded: 1 });
        expect((await merging).status).toBe(200);
      });
      expect((await links()).filter((l) => l.issue_id === merged.id)).toEqual([]);
      expect((await links()).find((l) => l.external_id === newFp)).toMatchObject({
        issue_id: target.id,
        original_issue_id: merged.id,
        link_kind: 'alias',
      });
    });

    it('records a collision when an ingest files the new fingerprint after the sweep read the links', async () => {
      await send('Upstream call took 35 ms on replica');
      const { oldFp, newFp } = await asFiledByVersion1(
        'Upstream call took 35 ms on replica',
        'Upstream call took * ms on replica',
        null,
      );
      const [old] = await issues(t.dataSource);
      // The sweep pauses as it files the alias (after reading the links and finding no owner); only
      // its own link inserts wait.
      let sweeping: Promise<unknown> | undefined;
      try {
        await withLinkInsertsPaused(`NEW.grouping_rule = '${FINGERPRINT_UPGRADE_RULE}'`, async ({ paused, resume }) => {
          sweeping = upgrade.sweep();
          await paused();
          // meanwhile a replica on this release files the new template as an issue of its own
          await send('Upstream call took 2 hours on replica');
          await resume();
          await expect(sweeping).resolves.toMatchObject({ aliasesAdded: 0, collisions: 1 });
        });
      } finally {
        await sweeping?.catch(() => undefined);
      }
      const [, meanwhile] = (await issues(t.dataSource)) as IssueRow[];
      expect(meanwhile).toBeDefined();
      expect((await links()).find((l) => l.external_id === newFp)).toMatchObject({ issue_id: meanwhile.id });
      expect(await historyOf(old.id, 'fingerprint_collision')).toEqual([
        expect.objectContaining({ to_value: meanwhile.id, data: expect.objectContaining({ fingerprint: newFp }) }),
      ]);
      expect(await historyOf(meanwhile.id, 'fingerprint_collision')).toEqual([
        expect.objectContaining({ to_value: old.id, data: expect.objectContaining({ previousFingerprint: oldFp }) }),
      ]);
    });
  }

  it.each([
    ['the version recorded by the last upgrade', 2, 2],
    ['version 1 when none was recorded', null, 1],
  ])('migrating, gives existing links %s', async (_label, recorded, expected) => {
    await send('Upstream call took 35 ms on replica');
    await t.dataSource.query(`DELETE FROM runtime_settings WHERE key = $1`, [FINGERPRINT_VERSION_SETTING]);
    if (recorded !== null) {
      await t.dataSource.query(`INSERT INTO runtime_settings (key, value, updated_by) VALUES ($1, $2::jsonb, 'test')`, [
        FINGERPRINT_VERSION_SETTING,
        JSON.stringify(recorded),
      ]);
    }
    await replayMigration(t.dataSource, new LinkFingerprintVersion1764700000000());
    expect((await links()).map((l) => l.fingerprint_version)).toEqual([expected]);
  });

  it('reads a stored raw logfmt line as a pushed line is read now, so the next push counts on its issue', async () => {
    // an older release filed a logfmt line whole (a stream labelled level=error)
    const line = 'level=error caller=flush.go:88 msg="flush failed" err="disk full"';
    await send(line);
    await t.dataSource.query(`UPDATE external_issue_links SET fingerprint_version = 3`);
    const [issue] = await issues(t.dataSource);
    await expect(upgrade.run()).resolves.toMatchObject({ aliasesAdded: 1 });
    await t.http
      .post('/loki/api/v1/push')
      .set(ingestAuth)
      .set('Content-Type', 'application/json')
      .send({
        streams: [{ stream: { service_name: SOURCE, component: FEATURE }, values: [[`${Date.now()}000000`, line]] }],
      })
      .expect(204);
    const after = await issues(t.dataSource);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id: issue.id, event_count: '2' });
  });

  it('records the current version on a database with nothing to upgrade', async () => {
    await t.dataSource.query(`DELETE FROM runtime_settings WHERE key = $1`, [FINGERPRINT_VERSION_SETTING]);

    await expect(upgrade.run()).resolves.toEqual({
      from: null,
      to: FINGERPRINT_VERSION,
      linksChecked: 0,
      aliasesAdded: 0,
      collisions: 0,
      patternsRelearned: 0,
      merges: 0,
    });
    expect(await storedVersion()).toBe(FINGERPRINT_VERSION);
  });
});
