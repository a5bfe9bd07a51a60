import { readFileSync } from 'node:fs';
import { sharedPath } from '../../support/shared-dir';
import { TestApp, adminAuth, ingestAuth, startTestApp } from '../../support/test-app';

/** Edges every receiver shares: auth before the body, body limits, malformed JSON, encodings. */
describe('request edges', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ REQUEST_BODY_LIMIT_BYTES: '2048' });
  });
  afterAll(async () => {
    await t.close();
  });

  const count = async (): Promise<number> =>
    Number(((await t.dataSource.query('SELECT count(*)::int AS n FROM ingest_deliveries')) as { n: number }[])[0].n);

  it('answers 401 to an ingest request without the secret before reading its (oversized) body', async () => {
    const big = JSON.stringify({ events: [{ source: 's', feature: 'f', message: 'x'.repeat(10_000) }] });
    const res = await t.http.post('/api/events').set('Content-Type', 'application/json').send(big);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('AUTH_MISSING');
    const wrong = await t.http.post('/api/events').set('Authorization', 'Bearer wrong-secret').send(big);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('AUTH_INVALID');
  });

  it('answers 403, not 401, to a valid key of another scope', async () => {
    const res = await t.http.post('/api/events').set(adminAuth).send({ events: [] });
    expect(res.status).toBe(403);
  });

  it('answers 413 naming the limit to an authenticated oversized body, writing nothing', async () => {
    const before = await count();
    const res = await t.http
      .post('/api/events')
      .set(ingestAuth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ events: [{ source: 's', feature: 'f', message: 'x'.repeat(10_000) }] }));
    expect(res.status).toBe(413);
    expect(res.body.message).toMatch(/2048 bytes/);
    expect(await count()).toBe(before);
  });

  it('answers 400 MALFORMED_JSON to a body that is not JSON', async () => {
    const res = await t.http
      .post('/api/events')
      .set(ingestAuth)
      .set('Content-Type', 'application/json')
      .send('{"events": [');
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('MALFORMED_JSON');
    expect(res.body.correlationId).toEqual(expect.any(String));
  });

  it('accepts a snappy protobuf push that says Content-Encoding: snappy (as Loki does)', async () => {
    const body = readFileSync(
      sharedPath('fixtures', 'loki', 'push', 'captured', 'generated-pushrequest-structured-metadata.snappy.pb'),
    );
    const res = await t.http
      .post('/loki/api/v1/push')
      .set(ingestAuth)
      .set('Content-Type', 'application/x-protobuf')
      .set('Content-Encoding', 'snappy')
      .send(body);
    expect(res.status).toBe(204);
  });
});
