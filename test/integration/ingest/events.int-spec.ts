import { TEST_KEYS, agentAuth, ingestAuth, useTestApp } from '../../support/test-app';
import { basicAuth, issues, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';

const EVENTS = '/api/events';

describe('POST /api/events (fixloop events batch)', () => {
  const t = useTestApp({}, { truncateEachTest: true });

  it('answers 202 with counts once the batch is committed, one issue per message template', async () => {
    const res = await t.http
      .post(EVENTS)
      .set(ingestAuth)
      .send({
        events: [
          {
            id: 'e-1',
            source: 'checkout-api',
            feature: 'orders',
            message: 'Order 17 not found',
            level: 'error',
            timestamp: '2026-11-20T10:00:00Z',
            labels: { version: '1.4.2' },
          },
          {
            id: 'e-2',
            source: 'checkout-api',
            feature: 'orders',
            message: 'Order 18 not found',
            timestamp: 1_795_000_000_000,
          },
          {
            id: 'e-3',
            source: 'checkout-api',
            feature: 'payments',
            message: 'Card declined',
            stack: 'Error: Card declined\n    at pay (pay.ts:10:5)',
          },
        ],
      })
      .expect(202);
    expect(res.body).toEqual({ received: 3, accepted: 3, duplicates: 0, notices: 0, issuesCreated: 2 });
    const all = await issues(t.dataSource);
    expect(all.map((i) => [i.feature, i.title, i.event_count])).toEqual([
      ['orders', 'Order 17 not found', '2'],
      ['payments', 'Card declined', '1'],
    ]);
    // first/last seen are the events' own times, not the receipt time
    expect(new Date(all[0].first_seen_at).getTime()).toBe(1_795_000_000_000); // 2026-11-18
    expect(new Date(all[0].last_seen_at).toISOString()).toBe('2026-11-20T10:00:00.000Z');
    const [sample] = (await t.dataSource.query(
      `SELECT version, level, ingest_kind FROM error_events WHERE message = 'Order 17 not found'`,
    )) as unknown[];
    expect(sample).toEqual({ version: '1.4.2', level: 'error', ingest_kind: 'events' });
  });

  it('counts events with an id once across retries', async () => {
    const body = { events: [{ id: 'retry-1', source: 's', feature: 'f', message: 'Boom' }] };
    await t.http.post(EVENTS).set(ingestAuth).send(body).expect(202);
    const again = await t.http.post(EVENTS).set(basicAuth(TEST_KEYS.LOKI_WEBHOOK_SECRET)).send(body).expect(202);
    expect(again.body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect((await issues(t.dataSource))[0].event_count).toBe('1');
  });

  it.each([
    ['a missing message', { events: [{ source: 's', feature: 'f' }] }, /events\[0\]\.message/],
    ['a message of the wrong type', { events: [{ source: 's', feature: 'f', message: 42 }] }, /events\[0\]\.message/],
    [
      'an unknown field',
      { events: [{ source: 's', feature: 'f', message: 'm', severity: 'x' }] },
      /events\[0\]\.severity/,
    ],
    [
      'a bad timestamp',
      { events: [{ source: 's', feature: 'f', message: 'm', timestamp: 'yesterday' }] },
      /events\[0\]\.timestamp/,
    ],
    ['events not an array', { events: 'x' }, /events/],
    [
      'a label that is not a string',
      { events: [{ source: 's', feature: 'f', message: 'm', labels: { a: 1 } }] },
      /events\[0\]\.labels\.a/,
    ],
  ])('answers %s with 400 naming it, writing nothing', async (_name, body, message) => {
    const res = await t.http.post(EVENTS).set(ingestAuth).send(body).expect(400);
    expect(res.body.message).toMatch(message);
    expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
  });

  it('never echoes a secret from refused input in the error message', async () => {
    const token = 'ghp_16C7e42F292c6912E7710c838347Ae178B4a';
    const res = await t.http
      .post(EVENTS)
      .set(ingestAuth)
      .send({ events: [{ source: 's', feature: 'f', message: 'm', timestamp: `token ${token}` }] })
      .expect(400);
    expect(res.body.message).toContain('timestamp');
    expect(JSON.stringify(res.body)).not.toContain(token);
  });

  it('answers too many events with 413', async () => {
    const events = Array.from({ length: 1001 }, (_, i) => ({ source: 's', feature: 'f', message: `m ${i}` }));
    const res = await t.http.post(EVENTS).set(ingestAuth).send({ events }).expect(413);
    expect(res.body.error).toBe('INGEST_PAYLOAD_TOO_LARGE');
    expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(0);
  });

  it('refuses missing (401), wrong (401) and other-scope (403) credentials, writing nothing', async () => {
    const body = { events: [{ source: 's', feature: 'f', message: 'm' }] };
    await t.http.post(EVENTS).send(body).expect(401);
    await t.http.post(EVENTS).set('Authorization', 'Bearer nope-nope-nope').send(body).expect(401);
    await t.http.post(EVENTS).set(agentAuth).send(body).expect(403);
    expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
  });
});
