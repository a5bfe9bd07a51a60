import { EventEmitter2 } from '@nestjs/event-emitter';
import { DedupService } from '../../../src/modules/dedup/dedup.service';
import { IssuesMerged, IssueCreated, ErrorReceived } from '../../../src/shared/events/event-catalogue';
import { adminAuth, agentAuth, ingestAuth, overrideConfig, testDbKind, useTestApp } from '../../support/test-app';
import { IssueRow, issueLinks, issues, rowCounts, untilRow } from '../../fixtures/ingest-service/ingest-test-helpers';

let seq = 0;
const event = (message: string, extra: Record<string, unknown> = {}) => ({
  id: `evt-${++seq}-${Math.random().toString(36).slice(2)}`,
  source: 'checkout-api',
  feature: 'cache',
  message,
  ...extra,
});

describe('dedup: issues from fingerprints, grouping merges, manual merges', () => {
  const t = useTestApp({}, { truncateEachTest: true });
  const seen: { created: IssueCreated[]; merged: IssuesMerged[]; received: ErrorReceived[] } = {
    created: [],
    merged: [],
    received: [],
  };

  beforeAll(() => {
    const emitter = t.app.get(EventEmitter2);
    emitter.on('issue.created', (e: IssueCreated) => seen.created.push(e));
    emitter.on('issues.merged', (e: IssuesMerged) => seen.merged.push(e));
    emitter.on('error.received', (e: ErrorReceived) => seen.received.push(e));
  });
  beforeEach(() => {
    seen.created.length = 0;
    seen.merged.length = 0;
    seen.received.length = 0;
  });

  const send = (...events: Record<string, unknown>[]) =>
    t.http.post('/api/events').set(ingestAuth).send({ events }).expect(202);
  const links = () => issueLinks(t.dataSource);
  const byIdentifier = async (identifier: string): Promise<IssueRow> => {
    const rows = (await t.dataSource.query(`SELECT * FROM issues WHERE identifier = $1`, [identifier])) as IssueRow[];
    return rows[0];
  };
  const history = async (
    issueId: string,
  ): Promise<
    {
      field: string;
      from_value: string | null;
      to_value: string | null;
      data: Record<string, unknown> | null;
      reason: string | null;
    }[]
  > =>
    (await t.dataSource.query(
      `SELECT field, from_value, to_value, data, reason FROM issue_history WHERE issue_id = $1 ORDER BY id`,
      [issueId],
    )) as {
      field: string;
      from_value: string | null;
      to_value: string | null;
      data: Record<string, unknown> | null;
      reason: string | null;
    }[];

  it('creates an issue for a new fingerprint with the scrubbed title, P4, triage, seen times of the event, and emits after commit', async () => {
    await send(event('Payment 4711 failed: gateway timeout', { timestamp: '2026-11-01T08:00:00Z' }));
    const [issue] = await issues(t.dataSource);
    expect(issue).toMatchObject({
      identifier: expect.stringMatching(/^CHIPP-\d+$/),
      title: 'Payment 4711 failed: gateway timeout',
      status: 'triage',
      priority: 4,
      source: 'checkout-api',
      feature: 'cache',
      event_count: '1',
    });
    expect(issue.normalized_message).not.toContain('4711');
    expect(new Date(issue.first_seen_at).toISOString()).toBe('2026-11-01T08:00:00.000Z');
    const [link] = await links();
    expect(link).toMatchObject({
      issue_id: issue.id,
      original_issue_id: issue.id,
      link_kind: 'primary',
      grouping_rule: 'exact',
      event_count: '1',
    });
    expect(link.external_id).toMatch(/^[0-9a-f]{64}$/);
    expect(seen.created).toEqual([
      expect.objectContaining({
        issueId: issue.id,
        identifier: issue.identifier,
        fingerprint: link.external_id,
        eventCount: 1,
      }),
    ]);
    expect(seen.received).toEqual([
      expect.objectContaining({
        issueId: issue.id,
        fingerprint: link.external_id,
        eventCount: 1,
        count: 1,
        observedAt: new Date('2026-11-01T08:00:00Z'),
      }),
    ]);
    // a known fingerprint: counted, no new issue, last seen moves to the later event
    await send(event('Payment 4712 failed: gateway timeout', { timestamp: '2026-11-02T08:00:00Z' }));
    const [again] = await issues(t.dataSource);
    expect(again.event_count).toBe('2');
    expect(new Date(again.last_seen_at).toISOString()).toBe('2026-11-02T08:00:00.000Z');
    expect(seen.created).toHaveLength(1);
  });

  it('makes exactly one issue of fifty concurrent deliveries of one new error', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.http
          .post('/api/events')
          .set(ingestAuth)
          .send({ events: [event(`Ledger write 9${i} rejected: lock timeout`)] }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(202));
    const all = await issues(t.dataSource);
    expect(all).toHaveLength(1);
    expect(all[0].event_count).toBe('50');
    const counts = await rowCounts(t.dataSource);
    expect(counts).toMatchObject({ issues: 1, external_issue_links: 1, grouping_groups: 1, ingest_deliveries: 50 });
    expect(seen.created).toHaveLength(1);
  });

  it('counts concurrent counting statements on one hot issue exactly (as several replicas run them)', async () => {
    // The batcher of one process runs one counting statement at a time; replicas do not share it.
    // Here 24 statements of 5 occurrences each run at once on their own pooled connections, all
    // on the same link and issue rows: each must add its own count to the latest row version.
    await send(event('Cart 1 could not be priced', { timestamp: '2026-11-01T00:00:00Z' }));
    const dedup = t.app.get(DedupService);
    const statements = Array.from({ length: 24 }, (_, s) => {
      const observations = Array.from({ length: 5 }, (_, i) => ({
        kind: 'events',
        source: 'checkout-api',
        feature: 'cache',
        message: `Cart ${100 + s * 5 + i} could not be priced`,
        occurredAt: new Date(Date.UTC(2026, 10, 1, 1, s, i)),
        count: 2,
        labels: {},
        version: s % 3 === 0 ? `build-${s}` : undefined,
        deliveryKey: `concurrent-${s}-${i}`,
      }));
      return { observations, prepared: dedup.prepareKnown(observations) };
    });
    const results = await Promise.all(statements.map((g) => dedup.recordKnown(t.dataSource.manager, [g])));
    expect(results.map((r) => r.outcomes[0].accepted)).toEqual(Array(24).fill(5));
    const [issue] = await issues(t.dataSource);
    expect(issue.event_count).toBe(String(1 + 24 * 5 * 2));
    expect(new Date(issue.last_seen_at).toISOString()).toBe('2026-11-01T01:23:04.000Z');
    const [link] = await links();
    expect(link.event_count).toBe(String(1 + 24 * 5 * 2));
    expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(1 + 24 * 5);
    // Each statement trims the samples it can see: concurrent ones may leave a few more than the
    // bound for a moment, and the next sample taken trims back to it.
    const sampleCount = async () =>
      ((await t.dataSource.query(`SELECT count(*)::int AS n FROM error_events`)) as { n: number }[])[0].n;
    expect(await sampleCount()).toBeGreaterThan(0);
    await t.dataSource.query(`UPDATE external_issue_links SET last_sampled_at = now() - interval '1 hour'`);
    await send(event('Cart 999 could not be priced', { timestamp: '2026-11-01T02:00:00Z' }));
    expect(await sampleCount()).toBe(t.config.SAMPLES_PER_FINGERPRINT);
  });

  it('counts fifty concurrent redeliveries of one delivery once', async () => {
    const body = { events: [event('Inventory sync 17 failed')] };
    const results = await Promise.all(
      Array.from({ length: 50 }, () => t.http.post('/api/events').set(ingestAuth).send(body)),
    );
    expect(results.map((r) => r.status)).toEqual(Array(50).fill(202));
    expect(results.reduce((sum, r) => sum + (r.body.accepted as number), 0)).toBe(1);
    expect((await issues(t.dataSource)).map((i) => i.event_count)).toEqual(['1']);
  });

  it('accepts concurrent batches that mix hot known errors with new variants filed onto them', async () => {
    await send(event('Payment provider acme timed out after 30s'), event('Queue 7 is full'));
    const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        t.http
          .post('/api/events')
          .set(ingestAuth)
          .send({
            events: [
              event(`Queue ${i} is full`),
              event(`Payment provider ${words[i % words.length]} timed out after ${i}s`),
              event(`Payment provider ${words[(i + 3) % words.length]}x timed out after 1s`),
              event(`Queue ${i + 100} is full`),
            ],
          }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(202));
    // Every event counted once on the issue it is filed under now (a merged issue's count moved to its target).
    const [{ total }] = (await t.dataSource.query(
      'SELECT sum(event_count)::int AS total FROM issues WHERE merged_into_id IS NULL',
    )) as { total: number }[];
    expect(total).toBe(2 + 30 * 4);
  });

  describe('samples', () => {
    const samples = async () =>
      (await t.dataSource.query(`SELECT message, version, occurred_at FROM error_events ORDER BY id`)) as {
        message: string;
        version: string | null;
        occurred_at: Date;
      }[];
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 1, 0, minute)).toISOString();
    /** As if the fingerprint's last sample had been taken `ms` ago. */
    const ageLastSample = (ms: number) =>
      t.dataSource.query(
        `UPDATE external_issue_links SET last_sampled_at = last_sampled_at - make_interval(secs => $1::int / 1000.0)`,
        [ms],
      );

    const HOUR = 3_600_000;
    const sec = (n: number) => new Date(Date.UTC(2026, 10, 1) + n * 1000).toISOString();
    /** Runs `fn` with SAMPLE_INTERVAL_MS at `ms` (read on every statement), then puts it back. */
    const withInterval = async (ms: number, fn: () => Promise<void>) => {
      const restore = overrideConfig(t, { SAMPLE_INTERVAL_MS: ms });
      try {
        await fn();
      } finally {
        restore();
      }
    };

    it('samples a known fingerprint once per SAMPLE_INTERVAL_MS, the newest occurrence, and counts every one', () =>
      withInterval(HOUR, async () => {
        await send(event('Cart 1 expired', { timestamp: sec(1) })); // creates the issue: sampled
        await send(event('Cart 2 expired', { timestamp: sec(2) }), event('Cart 3 expired', { timestamp: sec(3) }));
        await send(event('Cart 4 expired', { timestamp: sec(4) }));
        // Within the interval of the first sample, by the clock and by the lines' own times: counted, not sampled.
        expect((await samples()).map((r) => r.message)).toEqual(['Cart 1 expired']);
        await ageLastSample(HOUR);
        await send(event('Cart 5 expired', { timestamp: sec(5) }), event('Cart 6 expired', { timestamp: sec(6) }));
        await send(event('Cart 7 expired', { timestamp: sec(7) }));
        // Due again by the clock: one sample, the newest of the request; then the interval starts over.
        expect((await samples()).map((r) => r.message)).toEqual(['Cart 1 expired', 'Cart 6 expired']);
        expect((await issues(t.dataSource))[0].event_count).toBe('7');
        const [link] = await links();
        expect(link.event_count).toBe('7');
      }));

    it('samples lines that arrive together but happened an interval apart (by their own time)', () =>
      withInterval(HOUR, async () => {
        await send(event('Cart 1 expired', { timestamp: sec(0) }));
        await send(event('Cart 2 expired', { timestamp: sec(600) }));
        await send(
          event('Cart 3 expired', { timestamp: sec(3600) }),
          event('Cart 4 expired', { timestamp: sec(1800) }),
        );
        await send(event('Cart 5 expired', { timestamp: sec(4000) }));
        expect((await samples()).map((r) => r.message)).toEqual(['Cart 1 expired', 'Cart 3 expired']);
      }));

    it('samples a new build version at once, the newest occurrence of each version', () =>
      withInterval(HOUR, async () => {
        await send(event('Cart 1 expired', { timestamp: sec(1), labels: { version: 'v1' } }));
        await send(event('Cart 2 expired', { timestamp: sec(2), labels: { version: 'v1' } }));
        await send(
          event('Cart 3 expired', { timestamp: sec(3), labels: { version: 'v2' } }),
          event('Cart 4 expired', { timestamp: sec(4), labels: { version: 'v1' } }),
          event('Cart 5 expired', { timestamp: sec(5), labels: { version: 'v2' } }),
        );
        // Cart 2 (v1 again, within the interval) is not sampled; the request with v2 is, one per version.
        const kept = await samples();
        expect(kept.map((r) => r.message)).toHaveLength(3);
        expect(kept[0]).toMatchObject({ message: 'Cart 1 expired', version: 'v1' });
        expect(
          kept
            .slice(1)
            .map((r) => `${r.message}@${r.version}`)
            .sort(),
        ).toEqual(['Cart 4 expired@v1', 'Cart 5 expired@v2']);
        await send(event('Cart 6 expired', { timestamp: sec(6), labels: { version: 'v2' } }));
        expect(await samples()).toHaveLength(3); // v2 was the version last sampled
        await send(event('Cart 7 expired', { timestamp: sec(7), labels: { version: 'v3' } }));
        expect((await samples()).at(-1)).toMatchObject({ message: 'Cart 7 expired', version: 'v3' });
      }));

    it('keeps a bounded number of samples per fingerprint, the newest', async () => {
      const limit = t.config.SAMPLES_PER_FINGERPRINT;
      // a minute apart by their own times: each is due for a sample
      for (let i = 0; i < limit + 3; i++) await send(event(`Cart ${i} expired`, { timestamp: at(i) }));
      const kept = await samples();
      expect(kept).toHaveLength(limit);
      expect(new Date(kept[0].occurred_at).getTime()).toBe(Date.parse(at(3)));
      expect((await issues(t.dataSource))[0].event_count).toBe(String(limit + 3));
    });

    it('with SAMPLE_INTERVAL_MS=0 samples every occurrence, up to the bound per request', () =>
      withInterval(0, async () => {
        const limit = t.config.SAMPLES_PER_FINGERPRINT;
        const batch = Array.from({ length: limit + 7 }, (_, i) => event(`Cart ${i} expired`, { timestamp: sec(i) }));
        await send(...batch.slice(0, 5));
        await send(...batch.slice(5));
        const kept = (await samples()).map((r) => new Date(r.occurred_at).getTime()).sort((a, b) => a - b);
        expect(kept).toHaveLength(limit);
        expect(kept[0]).toBe(Date.parse(sec(7)));
        expect((await issues(t.dataSource))[0].event_count).toBe(String(limit + 7));
      }));
  });

  it('scrubs secrets from the stored sample, title, normalised message, stack and labels', async () => {
    const token = 'ghp_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
    const password = 'hunter2-Secret-77';
    await send(
      event(`GitHub call failed with token ${token} (password=${password})`, {
        stack: `Error: auth\n    at call (gh.ts:3:1) Authorization: Bearer ${token}`,
        labels: { api_key: 'sk_live_51HxYzAbCdEfGhIjKlMnOpQr', env: 'prod' },
      }),
    );
    const dump = JSON.stringify(
      await t.dataSource.query(
        `SELECT (SELECT json_agg(i) FROM issues i) AS issues, (SELECT json_agg(e) FROM error_events e) AS events,
                (SELECT json_agg(l) FROM external_issue_links l) AS links, (SELECT json_agg(h) FROM issue_history h) AS history`,
      ),
    );
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(password);
    expect(dump).not.toContain('sk_live_51HxYzAbCdEfGhIjKlMnOpQr');
    const [sample] = (await t.dataSource.query(`SELECT message, stack, labels FROM error_events`)) as {
      message: string;
      stack: string;
      labels: Record<string, string>;
    }[];
    expect(sample.message).toContain('[REDACTED:');
    expect(sample.stack).toContain('[REDACTED:');
    expect(sample.labels.env).toBe('prod');
    expect((await issues(t.dataSource))[0].title).toContain('[REDACTED:');
  });

  describe('merges on evidence (variable-position)', () => {
    const cache = (node: string) => event(`Cache node ${node} unreachable`);

    it('merges messages differing in one value once enough distinct values are seen, with evidence, aliases and history', async () => {
      await send(cache('n7a'));
      await send(cache('x9c'));
      expect((await issues(t.dataSource)).map((i) => i.status)).toEqual(['triage', 'triage']);
      await send(cache('r2d2'));

      const [first, second] = await issues(t.dataSource);
      expect(first).toMatchObject({ status: 'triage', merged_into_id: null, event_count: '3' });
      expect(second).toMatchObject({ status: 'closed', merged_into_id: first.id });
      expect(await issues(t.dataSource)).toHaveLength(2); // the third message never got an issue of its own

      const [merge] = (await t.dataSource.query(`SELECT * FROM issue_merges`)) as {
        target_issue_id: string;
        merged_issue_id: string;
        rule: string;
        evidence: Record<string, unknown>;
        actor: string;
      }[];
      expect(merge).toMatchObject({
        target_issue_id: first.id,
        merged_issue_id: second.id,
        rule: 'variable-position',
        actor: 'system:dedup',
      });
      expect(merge.evidence).toMatchObject({ rule: 'variable-position', position: 2, values: ['n7a', 'x9c', 'r2d2'] });

      const all = await links();
      expect(all).toHaveLength(3);
      expect(all.every((l) => l.issue_id === first.id)).toBe(true);
      expect(all.map((l) => [l.link_kind, l.original_issue_id === first.id])).toEqual([
        ['primary', true],
        ['alias', false],
        ['alias', true],
      ]);
      expect(all[1]).toMatchObject({ original_issue_id: second.id, grouping_rule: 'variable-position' });
      expect(all[1].grouping_evidence).toMatchObject({ position: 2, values: ['n7a', 'x9c', 'r2d2'] });
      expect(all[2].grouping_evidence).toMatchObject({ rule: 'variable-position', values: ['n7a', 'x9c', 'r2d2'] });

      const target = await history(first.id);
      expect(target).toContainEqual(
        expect.objectContaining({
          field: 'merged_from',
          to_value: second.identifier,
          data: expect.objectContaining({
            rule: 'variable-position',
            evidence: expect.objectContaining({ values: ['n7a', 'x9c', 'r2d2'] }),
          }),
        }),
      );
      const merged = await history(second.id);
      expect(merged).toContainEqual(
        expect.objectContaining({ field: 'status', from_value: 'triage', to_value: 'closed' }),
      );
      expect(merged).toContainEqual(expect.objectContaining({ field: 'merged_into', to_value: first.identifier }));
      expect(seen.merged).toEqual([
        expect.objectContaining({ targetIssueId: first.id, mergedIssueId: second.id, rule: 'variable-position' }),
      ]);

      // a fourth value joins through the learned pattern; an absorbed fingerprint follows its alias
      await send(cache('c3po'), cache('x9c'));
      const after = await issues(t.dataSource);
      expect(after).toHaveLength(2);
      expect(after[0].event_count).toBe('5');
      expect(after[1].event_count).toBe('1');
      expect((await links()).every((l) => l.issue_id === first.id)).toBe(true);
      expect(seen.received.slice(-2).map((e) => e.issueId)).toEqual([first.id, first.id]);
    });

    it('shows how each fingerprint was grouped on the issue (rule, alias, evidence, original issue)', async () => {
      for (const node of ['n7a', 'x9c', 'r2d2']) await send(cache(node));
      const [first, second] = await issues(t.dataSource);
      const res = await t.http.get(`/api/issues/${first.identifier}`).set(adminAuth).expect(200);
      const prints = res.body.fingerprints as {
        source: string;
        linkKind: string;
        groupingRule: string;
        groupingEvidence: Record<string, unknown> | null;
        normalizedMessage: string | null;
        originalIssue: string | null;
      }[];
      expect(prints.map((p) => [p.source, p.linkKind, p.groupingRule, p.originalIssue])).toEqual([
        ['loki', 'primary', 'exact', null],
        ['loki', 'alias', 'variable-position', second.identifier],
        ['loki', 'alias', 'variable-position', null],
      ]);
      expect(prints[1].groupingEvidence).toMatchObject({ position: 2, values: ['n7a', 'x9c', 'r2d2'] });
      expect(prints.map((p) => p.normalizedMessage)).toEqual([
        'Cache node n7a unreachable',
        'Cache node x9c unreachable',
        'Cache node r2d2 unreachable',
      ]);
      expect(prints.map((p) => (p as { heldBy?: string | null }).heldBy)).toEqual([null, null, null]);
      // the merged issue still shows its fingerprint, how it was grouped and where it went
      const merged = await t.http.get(`/api/issues/${second.identifier}`).set(adminAuth).expect(200);
      expect(merged.body.fingerprints).toEqual([
        expect.objectContaining({
          normalizedMessage: 'Cache node x9c unreachable',
          groupingRule: 'variable-position',
          originalIssue: second.identifier,
          heldBy: first.identifier,
        }),
      ]);
    });

    it('lets a person undo an automatic merge, and the undo sticks: later events and variants do not merge it again', async () => {
      for (const node of ['n7a', 'x9c', 'r2d2']) await send(cache(node));
      const [first, second] = await issues(t.dataSource);
      expect(second.merged_into_id).toBe(first.id);

      await t.http
        .post(`/api/issues/${second.identifier}/unmerge`)
        .set(adminAuth)
        .send({ reason: 'x9c is a different cluster' })
        .expect(200);
      expect(await byIdentifier(second.identifier)).toMatchObject({ status: 'triage', merged_into_id: null });

      await send(cache('x9c'), cache('q1w'), cache('n7a'));
      const restored = await byIdentifier(second.identifier);
      expect(restored).toMatchObject({ status: 'triage', merged_into_id: null, event_count: '2' });
      const survivor = await byIdentifier(first.identifier);
      expect(survivor.event_count).toBe('4'); // n7a twice, r2d2, and the new variant q1w
      expect(await issues(t.dataSource)).toHaveLength(2);
      const [row] = (await t.dataSource.query(
        `SELECT count(*)::int AS n FROM issue_merges WHERE undone_at IS NULL`,
      )) as {
        n: number;
      }[];
      expect(Number(row.n)).toBe(0);
    });

    it('gives links merged in automatically their own rule and evidence back when a later merge is undone', async () => {
      for (const node of ['n7a', 'x9c', 'r2d2']) await send(cache(node));
      const [first, second] = await issues(t.dataSource);
      await send({ ...event('Ledger write rejected'), feature: 'ledger' });
      const ledger = (await issues(t.dataSource)).find((i) => i.feature === 'ledger') as IssueRow;
      const grouped = async () =>
        (await links())
          .filter((l) => l.original_issue_id === second.id)
          .map((l) => [l.issue_id, l.grouping_rule, (l.grouping_evidence as { values?: string[] } | null)?.values]);
      const automatic = await grouped();
      expect(automatic).toEqual([[first.id, 'variable-position', ['n7a', 'x9c', 'r2d2']]]);
      // the issue list says where a merged issue went, as its own page does
      const list = await t.http.get('/api/issues').set(adminAuth).expect(200);
      expect(
        (list.body.items as { identifier: string; mergedInto: string | null }[]).find(
          (i) => i.identifier === second.identifier,
        )?.mergedInto,
      ).toBe(first.identifier);

      await t.http
        .post(`/api/issues/${first.identifier}/merge`)
        .set(adminAuth)
        .send({ into: ledger.identifier })
        .expect(200);
      expect((await grouped()).map(([issue, rule]) => [issue, rule])).toEqual([[ledger.id, 'manual']]);
      await t.http.post(`/api/issues/${first.identifier}/unmerge`).set(adminAuth).send({}).expect(200);
      expect(await grouped()).toEqual(automatic);
      // and undoing the automatic merge then restores the link as it was first
      await t.http.post(`/api/issues/${second.identifier}/unmerge`).set(adminAuth).send({}).expect(200);
      expect((await links()).find((l) => l.original_issue_id === second.id)).toMatchObject({
        issue_id: second.id,
        link_kind: 'primary',
        grouping_rule: 'exact',
        metadata: {},
      });
    });

    it('keeps plain words apart until more evidence (Started/Stopped are not variables)', async () => {
      for (const word of ['started', 'stopped', 'paused']) await send(event(`Job ${word} unexpectedly`));
      expect((await issues(t.dataSource)).filter((i) => i.status === 'triage')).toHaveLength(3);
    });
  });

  describe('a person merges and unmerges', () => {
    const merge = (from: string, into: string, reason?: string) =>
      t.http
        .post(`/api/issues/${from}/merge`)
        .set(adminAuth)
        .send({ into, ...(reason ? { reason } : {}) });

    it('merges with aliases and history, later events follow the alias, and the undo restores everything', async () => {
      await send(event('Checkout total mismatch'), event('Checkout total mismatch'));
      await send({ ...event('Basket price differs from quote'), feature: 'pricing' });
      const [a, b] = await issues(t.dataSource);

      const res = await merge(b.identifier, a.identifier, 'same rounding bug').expect(200);
      expect(res.body).toMatchObject({
        merged: b.identifier,
        into: a.identifier,
        state: 'merged',
        mergeId: expect.any(String),
      });
      expect(await byIdentifier(b.identifier)).toMatchObject({ status: 'closed', merged_into_id: a.id });
      expect((await byIdentifier(a.identifier)).event_count).toBe('3');
      const moved = (await links()).find((l) => l.original_issue_id === b.id);
      expect(moved).toMatchObject({ issue_id: a.id, link_kind: 'alias', grouping_rule: 'manual' });
      expect(moved?.grouping_evidence).toMatchObject({ rule: 'manual', reason: 'same rounding bug', actor: 'admin' });
      expect(await history(a.id)).toContainEqual(
        expect.objectContaining({ field: 'merged_from', to_value: b.identifier, reason: 'same rounding bug' }),
      );
      expect(await history(b.id)).toContainEqual(
        expect.objectContaining({ field: 'merged_into', to_value: a.identifier }),
      );
      expect(seen.merged).toEqual([
        expect.objectContaining({ targetIssueId: a.id, mergedIssueId: b.id, rule: 'manual', actor: 'admin' }),
      ]);

      // (past the sample interval, so the later event is sampled too and its sample moves back on undo)
      await t.dataSource.query(`UPDATE external_issue_links SET last_sampled_at = last_sampled_at - interval '1 hour'`);
      await send({ ...event('Basket price differs from quote'), feature: 'pricing' });
      expect((await byIdentifier(a.identifier)).event_count).toBe('4');

      await merge(b.identifier, a.identifier).expect(409);

      const undo = await t.http
        .post(`/api/issues/${b.identifier}/unmerge`)
        .set(adminAuth)
        .send({ reason: 'different bugs' })
        .expect(200);
      expect(undo.body).toMatchObject({ merged: b.identifier, into: a.identifier, state: 'unmerged' });
      expect(await byIdentifier(b.identifier)).toMatchObject({
        status: 'triage',
        merged_into_id: null,
        event_count: '2',
      });
      expect((await byIdentifier(a.identifier)).event_count).toBe('2');
      const restored = (await links()).find((l) => l.original_issue_id === b.id);
      expect(restored).toMatchObject({
        issue_id: b.id,
        link_kind: 'primary',
        grouping_rule: 'exact',
        grouping_evidence: null,
      });
      const [row] = (await t.dataSource.query(`SELECT undone_at, undone_by FROM issue_merges`)) as {
        undone_at: Date | null;
        undone_by: string;
      }[];
      expect(row.undone_at).not.toBeNull();
      expect(row.undone_by).toBe('admin');
      expect(await history(b.id)).toContainEqual(
        expect.objectContaining({ field: 'status', from_value: 'closed', to_value: 'triage' }),
      );
      expect(await history(a.id)).toContainEqual(
        expect.objectContaining({ field: 'unmerged', from_value: b.identifier, reason: 'different bugs' }),
      );
      const samplesOfB = (await t.dataSource.query(`SELECT count(*)::int AS n FROM error_events WHERE issue_id = $1`, [
        b.id,
      ])) as { n: number }[];
      expect(Number(samplesOfB[0].n)).toBe(2);

      await send({ ...event('Basket price differs from quote'), feature: 'pricing' });
      expect((await byIdentifier(b.identifier)).event_count).toBe('3');
      expect((await byIdentifier(a.identifier)).event_count).toBe('2');
      await t.http.post(`/api/issues/${b.identifier}/unmerge`).set(adminAuth).send({}).expect(409);
    });

    it('undoes a merge in a chain: the unmerged issue gets back its own links and those merged into it', async () => {
      await send({ ...event('Alpha report failed'), feature: 'a' });
      await send({ ...event('Beta report failed'), feature: 'b' }, { ...event('Beta report failed'), feature: 'b' });
      await send({ ...event('Gamma report failed'), feature: 'c' });
      const [a, b, c] = await issues(t.dataSource);
      await merge(a.identifier, b.identifier).expect(200);
      await merge(b.identifier, c.identifier).expect(200);
      expect((await links()).every((l) => l.issue_id === c.id)).toBe(true);
      expect((await byIdentifier(c.identifier)).event_count).toBe('4');

      await t.http.post(`/api/issues/${b.identifier}/unmerge`).set(adminAuth).send({}).expect(200);
      const after = await links();
      expect(
        after
          .filter((l) => l.issue_id === b.id)
          .map((l) => l.original_issue_id)
          .sort(),
      ).toEqual([a.id, b.id].sort());
      expect(after.find((l) => l.original_issue_id === c.id)?.issue_id).toBe(c.id);
      expect(await byIdentifier(b.identifier)).toMatchObject({
        status: 'triage',
        merged_into_id: null,
        event_count: '3',
      });
      expect((await byIdentifier(c.identifier)).event_count).toBe('1');
      // a is still merged into b: its events land on b
      await send({ ...event('Alpha report failed'), feature: 'a' });
      expect((await byIdentifier(b.identifier)).event_count).toBe('4');
      expect(await byIdentifier(a.identifier)).toMatchObject({ status: 'closed', merged_into_id: b.id });
    });

    it('refuses bad merges with the right status and writes nothing', async () => {
      await send(event('Alpha failure'));
      const [a] = await issues(t.dataSource);
      const before = await rowCounts(t.dataSource);
      expect((await merge(a.identifier, a.identifier).expect(400)).body.error).toBe('ISSUE_MERGE_SELF');
      expect((await merge(a.identifier, 'CHIPP-999999').expect(404)).body.error).toBe('ISSUE_NOT_FOUND');
      expect((await merge('CHIPP-999999', a.identifier).expect(404)).body.error).toBe('ISSUE_NOT_FOUND');
      expect(
        (await t.http.post(`/api/issues/${a.identifier}/merge`).set(adminAuth).send({}).expect(400)).body.message,
      ).toMatch(/into/);
      await t.http.post(`/api/issues/${a.identifier}/merge`).set(agentAuth).send({ into: a.identifier }).expect(403);
      await t.http.post(`/api/issues/${a.identifier}/merge`).send({ into: a.identifier }).expect(401);
      expect(await rowCounts(t.dataSource)).toEqual(before);
    });

    it('undoes a merge whose target was merged on since: the events leave the issue that holds them now', async () => {
      await send(event('Alpha failure one'), event('Alpha failure one'));
      await send(event('Beta broken thing'));
      await send(event('Gamma other error here'));
      const [a, b, c] = await issues(t.dataSource);
      await merge(a.identifier, b.identifier).expect(200);
      await merge(b.identifier, c.identifier).expect(200);
      expect((await byIdentifier(c.identifier)).event_count).toBe('4');

      await t.http.post(`/api/issues/${a.identifier}/unmerge`).set(adminAuth).send({}).expect(200);
      expect((await byIdentifier(a.identifier)).event_count).toBe('2');
      expect((await byIdentifier(c.identifier)).event_count).toBe('2');
      expect(await countsDrift()).toEqual([]);
    });
  });

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

  if (testDbKind() === 'postgres') {
    describe('merges racing ingest (a transaction paused with a table lock from another connection)', () => {
      const until = (sql: string) => untilRow(t.dataSource, sql);
      const waitingFor = (relation: string) =>
        until(
          `SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '${relation}' AND NOT l.granted`,
        );
      const waitingOnALock = (queryLike: string) =>
        until(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '${queryLike}'`,
        );
      /** Holds `LOCK TABLE issue_history`: a merge stops at its first history row, its row locks held. */
      async function pauseHistory(): Promise<() => Promise<void>> {
        const qr = t.dataSource.createQueryRunner();
        await qr.connect();
        await qr.startTransaction();
        await qr.query(`LOCK TABLE issue_history IN EXCLUSIVE MODE`);
        return async () => {
          await qr.commitTransaction();
          await qr.release();
        };
      }
      const mergeBy = (from: string, into: string) =>
        t.http.post(`/api/issues/${from}/merge`).set(adminAuth).send({ into });
      const post = (...events: Record<string, unknown>[]) =>
        t.http.post('/api/events').set(ingestAuth).send({ events });

      it('files a variant that arrives while its issue is merged by hand on the merge target', async () => {
        for (const node of ['n7a', 'x9c', 'r2d2']) await send(event(`Cache node ${node} unreachable`));
        await send(event('Payment 4711 failed: gateway timeout'));
        const [group, , other] = await issues(t.dataSource);
        const resume = await pauseHistory();
        const merging = mergeBy(group.identifier, other.identifier).then((r) => r);
        await waitingFor('issue_history');
        const filing = post(event('Cache node q1w unreachable')).then((r) => r);
        await waitingOnALock('%advisory%');
        await resume();
        const [merged, filed] = await Promise.all([merging, filing]);
        expect([merged.status, filed.status]).toEqual([200, 202]);
        const [link] = (await t.dataSource.query(
          `SELECT issue_id FROM external_issue_links WHERE normalized_message = 'Cache node q1w unreachable'`,
        )) as { issue_id: string }[];
        expect(link.issue_id).toBe(other.id);
        expect(await countsDrift()).toEqual([]);
      });

      it('files the observation that makes a merge evident when a person made that merge a moment before', async () => {
        for (const node of ['n7a', 'x9c']) await send(event(`Cache node ${node} unreachable`));
        const [target, absorbed] = await issues(t.dataSource);
        const resume = await pauseHistory();
        const merging = mergeBy(absorbed.identifier, target.identifier).then((r) => r);
        await waitingFor('issue_history');
        const filing = post(event('Cache node r2d2 unreachable')).then((r) => r);
        await waitingOnALock('%advisory%');
        await resume();
        const [merged, filed] = await Promise.all([merging, filing]);
        expect([merged.status, filed.status]).toEqual([200, 202]);
        expect(filed.body).toMatchObject({ accepted: 1 });
        expect((await byIdentifier(target.identifier)).event_count).toBe('3');
        expect(await countsDrift()).toEqual([]);
      });

      it('counts a hot fingerprint while its issue is merged, without a deadlock or a failed merge', async () => {
        await send(event('Alpha failure one'));
        await send(event('Beta broken thing'));
        const [a, b] = await issues(t.dataSource);
        const resume = await pauseHistory();
        const merging = mergeBy(a.identifier, b.identifier).then((r) => r);
        await waitingFor('issue_history');
        const counting = post(event('Alpha failure one')).then((r) => r);
        await waitingOnALock('%ingest_deliveries%');
        await resume();
        const [merged, counted] = await Promise.all([merging, counting]);
        expect([merged.status, counted.status]).toEqual([200, 202]);
        expect((await byIdentifier(b.identifier)).event_count).toBe('3');
        expect(await countsDrift()).toEqual([]);
      });
    });
  }
});
