import { TestApp, ingestAuth, startTestApp, truncateAll } from '../../support/test-app';
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
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ SAMPLE_INTERVAL_MS: '0' });
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await truncateAll(t.dataSource);
  });

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
});
