import { TestApp, ingestAuth, useTestApp } from '../../support/test-app';
import { RowCounts, issues, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';

const EVENTS = '/api/events';

/** The normaliser looks at a message's first 8,192 UTF-16 code units (`MAX_MESSAGE_LENGTH`). */
const NORMALISED_UNITS = 8192;

/**
 * A real log line: a rendered template over 8 kB with an emoji whose two halves lie on either
 * side of the normaliser's cut (its high surrogate is the 8,192nd code unit).
 */
function emojiAcrossTheCut(): string {
  const head = 'Slack notification rejected, template rendered: ';
  const body = 'x'.repeat(NORMALISED_UNITS - 1 - head.length - 1);
  const message = `${head}${body} 🎉 Deploy finished`;
  expect(message.charCodeAt(NORMALISED_UNITS - 1)).toBe(0xd83c); // the cut falls inside the pair
  return message;
}

/** What one request may have written: every ingest table's row count and each issue's count. */
async function written(t: TestApp): Promise<{ rows: RowCounts; counts: Record<string, string> }> {
  const all = await issues(t.dataSource);
  return { rows: await rowCounts(t.dataSource), counts: Object.fromEntries(all.map((i) => [i.title, i.event_count])) };
}

/**
 * Ingest counts a request's known fingerprints in one autocommitted statement, then files the rest
 * (new fingerprints, notices) in a transaction. Whatever fails in that second step comes after the
 * first committed: it is never answered 4xx (which tells the sender not to retry, and that nothing
 * was written), and the sender's retry counts the first part once.
 */
describe('ingest: the known part of a request, then the rest', () => {
  // No investigation is queued while the tests compare what requests wrote (the gate's listener
  // runs after the answer and would add its history entry at any moment).
  const t = useTestApp({ SAMPLE_INTERVAL_MS: '0', MIN_EVENT_COUNT_TO_SPAWN: '1000' }, { truncateEachTest: true });

  /** Files one occurrence of `Order 17 not found`, so that its template is known. */
  async function seedKnown(): Promise<void> {
    await t.http
      .post(EVENTS)
      .set(ingestAuth)
      .send({ events: [{ id: 'seed', source: 'checkout', feature: 'orders', message: 'Order 17 not found' }] })
      .expect(202);
  }

  it('files a new line whose 8,192nd character is half an emoji beside a known one: 2xx, all of it once', async () => {
    await seedKnown();
    const body = {
      events: [
        { id: 'known-1', source: 'checkout', feature: 'orders', message: 'Order 18 not found' },
        { id: 'new-1', source: 'notifier', feature: 'slack', message: emojiAcrossTheCut() },
      ],
    };
    const res = await t.http.post(EVENTS).set(ingestAuth).send(body);
    expect({ status: res.status, body: res.body as unknown }).toEqual({
      status: 202,
      body: { received: 2, accepted: 2, duplicates: 0, notices: 0, issuesCreated: 1 },
    });
    const all = await issues(t.dataSource);
    expect(all.map((i) => [i.source, i.event_count])).toEqual([
      ['checkout', '2'],
      ['notifier', '1'],
    ]);
    // the half of the emoji the normaliser keeps reads as U+FFFD, as it always hashed
    expect(all[1].normalized_message).toBe('Slack notification rejected, template rendered: * \ufffd');

    // the sender's retry of the same request counts nothing again
    const before = await written(t);
    await t.http
      .post(EVENTS)
      .set(ingestAuth)
      .send(body)
      .expect(202, { received: 2, accepted: 0, duplicates: 2, notices: 0, issuesCreated: 0 });
    expect(await written(t)).toEqual(before);
  });

  it('answers a failure after the known part was counted 500 (a refused value) or 503 (a read-only database), never 4xx; retries count it once', async () => {
    await seedKnown();
    // The second step made to fail as the database fails it: a trigger refuses the new fingerprint's
    // grouping row with the SQLSTATE its scope source names (22P02: a value refused, as a lone
    // surrogate in a template was; 25006: a read-only database, as during a failover).
    await t.dataSource.query(`
      CREATE FUNCTION test_refuse_group() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.scope_source LIKE 'refuse-%' THEN
          RAISE EXCEPTION 'test: refused' USING ERRCODE = substr(NEW.scope_source, 8);
        END IF;
        RETURN NEW;
      END $$`);
    await t.dataSource.query(
      `CREATE TRIGGER test_refuse_group BEFORE INSERT ON grouping_groups FOR EACH ROW EXECUTE FUNCTION test_refuse_group()`,
    );
    const request = (code: string, n: number) => ({
      events: [
        { id: `known-${code}`, source: 'checkout', feature: 'orders', message: `Order ${n} not found` },
        { id: `new-${code}`, source: `refuse-${code}`, feature: 'hooks', message: 'Webhook delivery timed out' },
      ],
    });
    const cases = [
      { code: '22P02', status: 500, error: 'INTERNAL', n: 18 },
      { code: '25006', status: 503, error: 'INGEST_DATABASE_UNAVAILABLE', n: 19 },
    ];
    let known = 1;
    try {
      for (const c of cases) {
        const before = await written(t);
        const failed = await t.http.post(EVENTS).set(ingestAuth).send(request(c.code, c.n));
        expect({ status: failed.status, error: (failed.body as { error?: string }).error }).toEqual({
          status: c.status,
          error: c.error,
        });
        if (c.status === 503) expect(failed.headers['retry-after']).toBe('5');
        // the known fingerprint was counted (and its delivery key kept); nothing of the new one was
        known++;
        const after = await written(t);
        expect(after).toEqual({
          rows: {
            ...before.rows,
            error_events: before.rows.error_events + 1,
            ingest_deliveries: before.rows.ingest_deliveries + 1,
          },
          counts: { ...before.counts, 'Order 17 not found': String(known) },
        });
        // the sender's retry while it still fails counts nothing twice
        await t.http.post(EVENTS).set(ingestAuth).send(request(c.code, c.n)).expect(c.status);
        expect(await written(t)).toEqual(after);
      }
    } finally {
      await t.dataSource.query(`DROP TRIGGER IF EXISTS test_refuse_group ON grouping_groups`);
      await t.dataSource.query(`DROP FUNCTION IF EXISTS test_refuse_group()`);
    }
    // once it goes through, each retry files the new fingerprint and counts the known one no more
    for (const c of cases) {
      await t.http
        .post(EVENTS)
        .set(ingestAuth)
        .send(request(c.code, c.n))
        .expect(202, { received: 2, accepted: 1, duplicates: 1, notices: 0, issuesCreated: 1 });
    }
    const all = await issues(t.dataSource);
    expect(all.map((i) => [i.source, i.event_count])).toEqual([
      ['checkout', '3'],
      ['refuse-22P02', '1'],
      ['refuse-25006', '1'],
    ]);
  });
});
