import { VerificationService } from '../../../src/modules/verification/verification.service';
import { DomainEventBus } from '../../../src/shared/events/domain-event-bus';
import { FakeLoki, LokiRequest, streamsAnswer } from '../../support/fake-loki';
import { useTestApp } from '../../support/test-app';
import {
  HOUR,
  MINUTE,
  ShippedIssue,
  after,
  deployed,
  historyOf,
  issueRow,
  outboxFor,
  seedShippedIssue,
  windowsOf,
} from './verification-seed';

const ns = (d: Date): string => (BigInt(d.getTime()) * 1_000_000n).toString();

describe('Fix verification against Loki (query_range)', () => {
  let loki: FakeLoki;
  let bus: DomainEventBus;
  let verification: VerificationService;

  beforeAll(async () => {
    loki = await FakeLoki.start();
  });
  const t = useTestApp(() => ({
    LOKI_URL: loki.url,
    LOKI_TENANT_ID: 'tenant-1',
    LOKI_BEARER_TOKEN: 'loki-token',
    LOKI_QUERY_INTERVAL_SECONDS: '0',
    LOKI_RETRIES: '0',
    LOKI_TIMEOUT_SECONDS: '2',
    FIX_VERIFICATION_HOURS: '48',
    VERIFICATION_GRACE_MINUTES: '10',
  }));
  beforeAll(() => {
    bus = t.app.get(DomainEventBus);
    verification = t.app.get(VerificationService);
  });
  afterEach(() => loki.reset());
  afterAll(async () => {
    await loki.close();
  });

  /** Answers the query for this issue's first selector (`{source="..."}`) with `values`; others empty. */
  const answerFor = (
    s: ShippedIssue,
    values: Array<[string, string, Record<string, unknown>?]>,
    labels: Record<string, string> = {},
  ) =>
    loki.respond((req: LokiRequest) =>
      req.params.get('query')?.startsWith(`{source="${s.source}"}`)
        ? { body: streamsAnswer([{ stream: { source: s.source, feature: s.feature, ...labels }, values }]) }
        : undefined,
    );

  const line = (s: ShippedIssue, id: string): string =>
    JSON.stringify({ level: 50, msg: s.template.replace('*', id).replace('cus_*', 'cus_77aa88bb'), pid: 7 });

  it('empty answers: verified once Loki covered the whole window; LogQL, range, tenant and auth as documented', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));

    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('verified');
    const mine = loki.queryRequests().filter((r) => r.params.get('query')?.includes(s.source));
    // One query per source label name, each excluding the earlier names (ingest's first-present rule).
    expect(mine.map((r) => r.params.get('query')?.split(' |=')[0])).toEqual([
      `{source="${s.source}"}`,
      `{source="", service_name="${s.source}"}`,
      `{source="", service_name="", app="${s.source}"}`,
      `{source="", service_name="", app="", job="${s.source}"}`,
      `{source="", service_name="", app="", job="", service="${s.source}"}`,
    ]);
    const q = mine[0];
    expect(q.params.get('query')).toMatch(/ \|= "customer"/);
    expect(q.params.get('query')).not.toMatch(/\*/);
    expect(q.params.get('start')).toBe(ns(after(s.deployedAt, 10 * MINUTE)));
    expect(q.params.get('end')).toBe(ns(after(s.deployedAt, 48 * HOUR)));
    expect(q.params.get('direction')).toBe('forward');
    expect(q.headers['x-scope-orgid']).toBe('tenant-1');
    expect(q.headers.authorization).toBe('Bearer loki-token');
    expect(q.headers['x-loki-response-encoding-flags']).toBe('categorize-labels');
  });

  it('a line from the new build that normalises to the issue fails the fix', async () => {
    const s = await seedShippedIssue(t.dataSource, { priority: 3 });
    await bus.emit('fix.deployed', deployed(s));
    const at = after(s.deployedAt, 2 * HOUR);
    answerFor(s, [[ns(at), line(s, '9931'), { structuredMetadata: { version: '1.4.2' } }]]);

    await verification.runDueChecks(after(s.deployedAt, 3 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('failed');
    expect(w.recurrence_evidence).toMatchObject({
      via: 'loki',
      version: '1.4.2',
      build: 'fix_build',
      fingerprint: s.fingerprint,
    });
    expect(new Date(w.first_recurrence_at as Date).toISOString()).toBe(at.toISOString());
    expect(await issueRow(t.dataSource, s.issueId)).toEqual({ status: 'triage', priority: 2, labels: ['fix-failed'] });
  });

  it('stores a recurrence from Loki without the secrets its line and labels carried, and with storable text', async () => {
    const s = await seedShippedIssue(t.dataSource, { priority: 3 });
    await bus.emit('fix.deployed', deployed(s));
    const at = after(s.deployedAt, 2 * HOUR);
    const token = 'ghp_Zq8vT2mK9xR4bN7cW1pL5sD3fH6jY0aE8uGi';
    const password = 'Sup3rS3cretPassw0rd';
    answerFor(s, [[ns(at), line(s, token), { structuredMetadata: { version: '1.4.2' } }]], {
      database_url: `postgres://app:${password}@db.internal:5432/orders`,
      note: 'nul\u0000here',
    });

    await verification.runDueChecks(after(s.deployedAt, 3 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('failed');
    expect(w.recurrence_evidence).toMatchObject({ via: 'loki', fingerprint: s.fingerprint, version: '1.4.2' });
    const stored = JSON.stringify([
      w.recurrence_evidence,
      await historyOf(t.dataSource, s.issueId),
      await outboxFor(t.dataSource, 'fix.failed', s.issueId),
    ]);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(password);
    expect(stored).toContain('[REDACTED:');
    const evidence = w.recurrence_evidence as { message: string; labels: Record<string, string> };
    expect(evidence.message).toMatch(/^Payment \[REDACTED:[a-z0-9-]+\] declined by gateway/);
    expect(evidence.labels.note).toBe('nul\ufffdhere');
  });

  it('ignores lines of another template or feature, and records old-build lines without failing', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    answerFor(s, [
      [ns(after(s.deployedAt, HOUR)), `${line(s, '1')} and then some more words`],
      [
        ns(after(s.deployedAt, 2 * HOUR)),
        JSON.stringify({ level: 'error', msg: `${s.template.replace(/\*/g, '5')} retrying` }),
      ],
      [ns(after(s.deployedAt, 3 * HOUR)), line(s, '2'), { structuredMetadata: { version: '1.4.1' } }],
      [
        ns(after(s.deployedAt, 4 * HOUR)),
        line(s, '3'),
        { structuredMetadata: { feature: 'ignored-because-stream-wins', version: 'v1.3.0' } },
      ],
    ]);
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w).toMatchObject({ state: 'verified', recurrence_count: 0, old_build_count: 2 });

    const s2 = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s2));
    answerFor(s2, [[ns(after(s2.deployedAt, HOUR)), line(s2, '4')]], { feature: 'another-feature' });
    await verification.runDueChecks(after(s2.deployedAt, 49 * HOUR));
    expect((await windowsOf(t.dataSource, s2.issueId))[0].state).toBe('verified');
  });

  it('reads Loki incrementally: the next check starts where the settled part of the last one ended', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    await verification.runDueChecks(after(s.deployedAt, 2 * HOUR));
    const first = loki.queryRequests().filter((r) => r.params.get('query')?.startsWith(`{source="${s.source}"}`));
    expect(first[0].params.get('end')).toBe(ns(after(s.deployedAt, 2 * HOUR)));
    loki.reset();
    await verification.runDueChecks(after(s.deployedAt, 3 * HOUR));
    const second = loki.queryRequests().filter((r) => r.params.get('query')?.startsWith(`{source="${s.source}"}`));
    // Lines of the last grace period may still be arriving in Loki: they are read again.
    expect(second[0].params.get('start')).toBe(ns(after(s.deployedAt, 2 * HOUR - 10 * MINUTE)));
    expect((await windowsOf(t.dataSource, s.issueId))[0].state).toBe('watching');
  });

  it('records a Loki error holding NUL (U+FFFD), and still decides the window after the give-up delay', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    loki.respond(() => ({ body: { status: 'error', errorType: 'bad_data', error: 'parse error at \u0000' } }));
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    const [open] = (await t.dataSource.query(
      `SELECT state, loki_last_error FROM verification_windows WHERE issue_id = $1`,
      [s.issueId],
    )) as { state: string; loki_last_error: string }[];
    expect(open).toMatchObject({
      state: 'watching',
      loki_last_error: expect.stringContaining('parse error at \ufffd'),
    });
    await verification.runDueChecks(after(s.deployedAt, 55 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('verified');
  });

  it('while Loki fails the window stays open past its end; after the give-up delay it is decided on own events', async () => {
    const s = await seedShippedIssue(t.dataSource);
    await bus.emit('fix.deployed', deployed(s));
    loki.respond(() => ({ status: 500, body: 'internal error' }));
    await verification.runDueChecks(after(s.deployedAt, 49 * HOUR));
    const [open] = (await t.dataSource.query(
      `SELECT state, loki_last_error FROM verification_windows WHERE issue_id = $1`,
      [s.issueId],
    )) as { state: string; loki_last_error: string }[];
    expect(open).toMatchObject({ state: 'watching', loki_last_error: expect.stringMatching(/Loki answered 500/) });

    await verification.runDueChecks(after(s.deployedAt, 55 * HOUR));
    const [w] = await windowsOf(t.dataSource, s.issueId);
    expect(w.state).toBe('verified');
    expect(w.decision_reason).toMatch(/Loki could not be read/);
  });
});
