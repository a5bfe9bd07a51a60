import { gzipSync } from 'node:zlib';
import { AddressInfo } from 'node:net';
import pino from 'pino';
import { pinoLoki } from 'pino-loki';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { parseLokiPush } from '../../../src/modules/ingest/parsers/loki-push.parser';
import { TestApp, adminAuth, ingestAuth, overrideConfig, TEST_KEYS, useTestApp } from '../../support/test-app';
import { basicAuth, fixtureBytes, issues, rowCounts, waitFor } from '../../fixtures/ingest-service/ingest-test-helpers';

const PUSH = '/loki/api/v1/push';
const secretBasic = basicAuth(TEST_KEYS.LOKI_WEBHOOK_SECRET, 'user');

/** The captured request headers of a client, minus hop-by-hop ones and with our credentials. */
function capturedHeaders(name: string): Record<string, string> {
  const captured = JSON.parse(fixtureBytes('loki', 'push', 'captured', name).toString('utf8')) as {
    headers: Record<string, string>;
  };
  const skip = new Set(['host', 'connection', 'content-length', 'authorization', 'accept-encoding']);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(captured.headers)) if (!skip.has(k)) headers[k] = v;
  return { ...headers, ...secretBasic };
}

async function stored(t: TestApp): Promise<{ message: string; occurred_at: Date; labels: Record<string, string> }[]> {
  return (await t.dataSource.query(
    `SELECT message, occurred_at, labels FROM error_events ORDER BY occurred_at, id`,
  )) as {
    message: string;
    occurred_at: Date;
    labels: Record<string, string>;
  }[];
}

describe('POST /loki/api/v1/push (Loki push API)', () => {
  const t = useTestApp({}, { truncateEachTest: true });

  it.each([
    ['pino-loki 3.0.0 (captured)', 'pino-loki-3.0.0.push.json', 'pino-loki-3.0.0.request-headers.json'],
    [
      'winston-loki 6.1.7 JSON mode (captured)',
      'winston-loki-6.1.7-json.push.json',
      'winston-loki-6.1.7-json.request-headers.json',
    ],
  ])('stores the error lines of %s sent with its headers, answering 204', async (_name, body, headers) => {
    const bytes = fixtureBytes('loki', 'push', 'captured', body);
    const want = parseLokiPush({ body: bytes, contentType: 'application/json' });
    expect(want.observations.length).toBeGreaterThan(0);
    await t.http.post(PUSH).set(capturedHeaders(headers)).send(bytes.toString('utf8')).expect(204);
    const rows = await stored(t);
    expect(rows.map((r) => [r.message, new Date(r.occurred_at).toISOString()])).toEqual(
      want.observations.map((o) => [o.message, o.occurredAt.toISOString()]),
    );
    expect((await issues(t.dataSource)).map((i) => i.source)).toEqual(['checkout-api']);
  });

  it('stores the structured metadata of a JSON push as sample labels', async () => {
    await t.http
      .post(PUSH)
      .set(capturedHeaders('pino-loki-3.0.0.request-headers.json'))
      .send(fixtureBytes('loki', 'push', 'captured', 'pino-loki-3.0.0.push.json').toString('utf8'))
      .expect(204);
    const [row] = await stored(t);
    expect(row.labels).toMatchObject({
      trace_id: '0242ac120002',
      user_id: 'u-42',
      app: 'checkout-api',
      level: 'error',
    });
  });

  it("accepts Loki's own test bodies; lines that are not errors are skipped", async () => {
    for (const name of ['loki-push_test-valid-basic.json', 'loki-push_test-valid-structured-metadata.json']) {
      await t.http
        .post(PUSH)
        .set(ingestAuth)
        .set('Content-Type', 'application/json')
        .send(fixtureBytes('loki', 'push', name).toString('utf8'))
        .expect(204);
    }
    expect(await rowCounts(t.dataSource)).toMatchObject({ issues: 0, error_events: 0, ingest_deliveries: 0 });
  });

  it('accepts gzip-compressed JSON (Content-Encoding: gzip)', async () => {
    const bytes = gzipSync(fixtureBytes('loki', 'push', 'captured', 'pino-loki-3.0.0.push.json'));
    await t.http
      .post(PUSH)
      .set(secretBasic)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'gzip')
      .serialize((b: unknown) => b as string) // the gzip bytes as they are, not JSON-encoded by superagent
      .send(bytes)
      .expect(204);
    expect((await stored(t)).length).toBe(1);
  });

  it.each([
    ['application/x-protobuf', { 'Content-Type': 'application/x-protobuf' }],
    ['no Content-Type', {}],
    ['no Content-Type and Content-Encoding: snappy', { 'Content-Encoding': 'snappy' }],
  ])('accepts snappy protobuf with %s', async (_name, headers) => {
    const bytes = fixtureBytes('loki', 'push', 'captured', 'generated-pushrequest-structured-metadata.snappy.pb');
    const want = parseLokiPush({ body: bytes, contentType: 'application/x-protobuf' });
    expect(want.observations).toHaveLength(2);
    const req = t.http
      .post(PUSH)
      .set(ingestAuth)
      .set(headers as Record<string, string>);
    if (!('Content-Type' in headers)) req.unset('Content-Type');
    await req.send(bytes).expect(204);
    const rows = await stored(t);
    expect(rows.map((r) => r.message)).toEqual(want.observations.map((o) => o.message));
    expect(rows[0].labels).toMatchObject({ trace_id: '0242ac120002', app: 'checkout-api' });
    const all = await issues(t.dataSource);
    expect(all.reduce((sum, i) => sum + Number(i.event_count), 0)).toBe(2);
  });

  it('files every error line of a push that holds one over the line limit, cutting that one to fit', async () => {
    const now = `${Date.now()}000000`;
    await t.http
      .post(PUSH)
      .set(ingestAuth)
      .set('Content-Type', 'application/json')
      .send({
        streams: [
          {
            stream: { service_name: 'payments', level: 'error' },
            values: [
              [now, 'Payment gateway unreachable'],
              [now, `Template render failed: ${'x'.repeat(300 * 1024)}`],
            ],
          },
        ],
      })
      .expect(204);
    const rows = (await stored(t)).map((r) => r.message).sort();
    expect(rows.map((m) => m.slice(0, 27))).toEqual(['Payment gateway unreachable', 'Template render failed: xxx']);
    expect(rows[1]).toMatch(/ \[truncated by fixloop: 307224 bytes in all\]$/);
    expect(await issues(t.dataSource)).toHaveLength(2);
  });

  it('counts a repeated push once (Loki client retry)', async () => {
    const bytes = fixtureBytes('loki', 'push', 'captured', 'generated-pushrequest-structured-metadata.snappy.pb');
    await t.http.post(PUSH).set(ingestAuth).set('Content-Type', 'application/x-protobuf').send(bytes).expect(204);
    const before = await rowCounts(t.dataSource);
    await t.http.post(PUSH).set(ingestAuth).set('Content-Type', 'application/x-protobuf').send(bytes).expect(204);
    expect(await rowCounts(t.dataSource)).toEqual(before);
    expect((await issues(t.dataSource)).reduce((sum, i) => sum + Number(i.event_count), 0)).toBe(2);
  });

  describe('refuses, writing nothing', () => {
    it.each([
      [
        'an object in line position (Loki test)',
        'application/json',
        fixtureBytes('loki', 'push', 'loki-push_test-INVALID-object-as-line.json').toString('utf8'),
        400,
        /streams\[0\]\.values\[0\]\[1\]/,
      ],
      [
        'numeric timestamps',
        'application/json',
        JSON.stringify({ streams: [{ stream: { level: 'error' }, values: [[1570818238000000000, 'x']] }] }),
        400,
        /values\[0\]\[0\]/,
      ],
      ['malformed JSON', 'application/json', '{"streams":[', 400, /JSON/],
      ['garbage protobuf', 'application/x-protobuf', Buffer.from('not snappy at all'), 400, /snappy/],
      ['an unknown media type', 'text/plain', 'level=error msg=boom', 415, /text\/plain/],
    ])('%s: %d naming the problem', async (_name, type, body, status, message) => {
      const res = await t.http.post(PUSH).set(ingestAuth).set('Content-Type', type).send(body).expect(status);
      expect(`${res.body.error}: ${res.body.message}`).toMatch(message);
      expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    });

    it('an unsupported Content-Encoding on raw bytes: 415', async () => {
      const res = await t.http
        .post(PUSH)
        .set(ingestAuth)
        .set('Content-Encoding', 'br')
        .unset('Content-Type')
        .send(Buffer.from([1, 2, 3]))
        .expect(415);
      expect(res.body.error).toBe('INGEST_UNSUPPORTED_ENCODING');
    });

    it('a body over REQUEST_BODY_LIMIT_BYTES: 413, with or without Content-Type', async () => {
      const big = Buffer.alloc(t.config.REQUEST_BODY_LIMIT_BYTES + 1, 1);
      await t.http.post(PUSH).set(ingestAuth).set('Content-Type', 'application/x-protobuf').send(big).expect(413);
      const res = await t.http.post(PUSH).set(ingestAuth).unset('Content-Type').send(big).expect(413);
      expect(res.body.error).toMatch(/TOO_LARGE/);
      expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(0);
    });

    it.each([
      ['no credentials', {}, 401],
      ['a wrong Basic password', basicAuth('wrong-password'), 401],
      ['a wrong Bearer token', { Authorization: 'Bearer wrong-token-123' }, 401],
      ['the admin key', adminAuth, 403],
    ])('%s: %d', async (_name, headers, status) => {
      await t.http
        .post(PUSH)
        .set(headers as Record<string, string>)
        .set('Content-Type', 'application/json')
        .send(fixtureBytes('loki', 'push', 'captured', 'pino-loki-3.0.0.push.json').toString('utf8'))
        .expect(status);
      expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    });
  });

  describe('real clients against the running service', () => {
    let base: string;

    let restoreConfig: () => void;

    beforeAll(async () => {
      await t.app.listen(0, '127.0.0.1');
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      base = `http://127.0.0.1:${port}`;
      // Every line sampled (the clients send lines a few ms apart): the stored samples show each one.
      restoreConfig = overrideConfig(t, { SAMPLE_INTERVAL_MS: 0 });
    });
    afterAll(() => restoreConfig());

    it('pino-loki 3.0.0 (JSON over fetch, batched, Basic auth) files its error lines', async () => {
      const transport = pinoLoki({
        host: base,
        basicAuth: { username: 'pino', password: TEST_KEYS.LOKI_WEBHOOK_SECRET },
        headers: { 'X-Scope-OrgID': 'tenant-1' },
        labels: { app: 'pino-service', env: 'test' },
        batching: { interval: 0.2 },
      });
      const logger = pino({ level: 'info' }, transport);
      for (let i = 1; i <= 3; i++)
        logger.error({ err: new Error(`Order ${1000 + i} not found`) }, `Order ${1000 + i} not found`);
      logger.info('all good');
      transport.end();
      const rows = await waitFor(
        async () => {
          const r = await stored(t);
          return r.length === 3 ? r : undefined;
        },
        15_000,
        'pino-loki lines',
      );
      expect(rows.map((r) => r.message).sort()).toEqual([
        'Order 1001 not found',
        'Order 1002 not found',
        'Order 1003 not found',
      ]);
      const all = await issues(t.dataSource);
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ source: 'pino-service', event_count: '3' });
    });

    it('winston-loki 6.1.7 (snappy protobuf by default, Basic auth) files its error lines', async () => {
      const errors: unknown[] = [];
      const transport = new LokiTransport({
        host: base,
        basicAuth: `winston:${TEST_KEYS.LOKI_WEBHOOK_SECRET}`,
        labels: { app: 'winston-service' },
        batching: false,
        onConnectionError: (err: unknown) => errors.push(err),
      });
      const logger = winston.createLogger({ transports: [transport] });
      logger.error('Payment 77 declined by gateway');
      logger.error('Payment 78 declined by gateway');
      logger.info('Payment ok');
      const rows = await waitFor(
        async () => {
          const r = await stored(t);
          return r.length === 2 ? r : undefined;
        },
        15_000,
        'winston-loki lines',
      );
      // The info line is pushed too (and filtered out by level): let its request finish before the
      // app can close under it (winston-loki logs a failed push to the console, after the test).
      await new Promise((resolve) => setTimeout(resolve, 500));
      logger.close();
      expect(errors).toEqual([]);
      // winston-loki appends the log's meta as JSON to the line.
      expect(rows.map((r) => r.message).sort()).toEqual([
        'Payment 77 declined by gateway {"level":"error"}',
        'Payment 78 declined by gateway {"level":"error"}',
      ]);
      const all = await issues(t.dataSource);
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ source: 'winston-service', event_count: '2' });
    });
  });
});
