import { readFileSync } from 'node:fs';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { sharedPath } from '../../support/shared-dir';
import { signGrafanaPayload } from '../../../src/modules/ingest/parsers/grafana-signature';
import { TEST_KEYS, adminAuth, agentAuth, ingestAuth, overrideConfig, useTestApp } from '../../support/test-app';

/** Edges every receiver shares: auth before the body, body limits, malformed JSON, encodings. */
describe('request edges', () => {
  const t = useTestApp({ REQUEST_BODY_LIMIT_BYTES: '2048' });

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

  it('answers 403, not 401, to a valid key of another scope, before reading the body', async () => {
    const res = await t.http.post('/api/events').set(adminAuth).send({ events: [] });
    expect(res.status).toBe(403);
    expect(res.body.error).toBe('AUTH_WRONG_SCOPE');
    for (const route of ['/api/events', '/loki/api/v1/push', '/api/loki/webhook']) {
      const malformed = await t.http
        .post(route)
        .set(agentAuth)
        .set('Content-Type', 'application/json')
        .send('{"not json');
      expect([route, malformed.status, malformed.body.error]).toEqual([route, 403, 'AUTH_WRONG_SCOPE']);
    }
  });

  it.each([
    ['a percent-encoded path', '/api/%65vents'],
    ['a trailing slash', '/api/events/'],
    ['a query string', '/api/events?x=1'],
    ['an encoded push path', '/loki/api/v1/%70ush'],
    ['an encoded webhook path', '/api/loki/%77ebhook'],
  ])('refuses %s to the same route without the secret before reading the body', async (_name, url) => {
    const big = JSON.stringify({ events: [{ source: 's', feature: 'f', message: 'x'.repeat(10_000) }] });
    const res = await t.http.post(url).set('Content-Type', 'application/json').send(big);
    expect([res.status, res.body.error]).toEqual([401, 'AUTH_MISSING']);
  });

  it('takes a push on an encoded path as the push route, raw body and all', async () => {
    const body = readFileSync(
      sharedPath('fixtures', 'loki', 'push', 'captured', 'generated-pushrequest-structured-metadata.snappy.pb'),
    );
    const res = await t.http
      .post('/loki/api/v1/%70ush')
      .set(ingestAuth)
      .set('Content-Type', 'application/x-protobuf')
      .send(body);
    expect(res.status).toBe(204);
  });

  describe('a webhook signed with Grafana HMAC', () => {
    const signature = (body: string, timestamp?: string) =>
      signGrafanaPayload(TEST_KEYS.LOKI_WEBHOOK_SECRET, body, timestamp);
    const post = (body: string, headers: Record<string, string>) =>
      t.http
        .post('/api/loki/webhook')
        .set({ 'Content-Type': 'application/json', ...headers })
        .send(body);

    it('refuses a malformed signature or a stale timestamp before reading the (oversized) body', async () => {
      const big = JSON.stringify({ version: '1', alerts: [], pad: 'x'.repeat(10_000) });
      const now = String(Math.floor(Date.now() / 1000));
      const stale = String(Math.floor(Date.now() / 1000) - 3600);
      const cases: Record<string, string>[] = [
        { 'X-Grafana-Alerting-Signature': 'not-hex' },
        { 'X-Grafana-Alerting-Signature': signature(big, stale), 'X-Grafana-Alerting-Timestamp': stale },
        { 'X-Grafana-Alerting-Signature': signature(big, now), 'X-Grafana-Alerting-Timestamp': 'soon' },
      ];
      for (const headers of cases) {
        const res = await post(big, headers);
        expect([res.status, res.body.error]).toEqual([401, 'AUTH_INVALID']);
      }
    });

    it('refuses a signature without a timestamp when GRAFANA_SIGNATURE_REQUIRE_TIMESTAMP is set', async () => {
      const body = JSON.stringify({ version: '1', status: 'firing', alerts: [] });
      const restore = overrideConfig(t, { GRAFANA_SIGNATURE_REQUIRE_TIMESTAMP: true });
      try {
        const bare = await post(body, { 'X-Grafana-Alerting-Signature': signature(body) });
        expect([bare.status, bare.body.error]).toEqual([401, 'AUTH_INVALID']);
        const now = String(Math.floor(Date.now() / 1000));
        const stamped = await post(body, {
          'X-Grafana-Alerting-Signature': signature(body, now),
          'X-Grafana-Alerting-Timestamp': now,
        });
        expect(stamped.status).toBe(200);
      } finally {
        restore();
      }
      const accepted = await post(body, { 'X-Grafana-Alerting-Signature': signature(body) });
      expect(accepted.status).toBe(200);
    });

    it('checks the signature over the bytes before parsing them: a wrong one is 401, not 400', async () => {
      const malformed = '{"version": "1", "alerts": [';
      const wrong = await post(malformed, { 'X-Grafana-Alerting-Signature': signature('something else') });
      expect([wrong.status, wrong.body.error]).toEqual([401, 'AUTH_INVALID']);
      const right = await post(malformed, { 'X-Grafana-Alerting-Signature': signature(malformed) });
      expect([right.status, right.body.error]).toEqual([400, 'MALFORMED_JSON']);
    });
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

  it('answers a NUL in a path parameter or a query string as any other value (404, 200), never 500', async () => {
    for (const [method, path, body] of [
      ['get', '/api/issues/CHIPP-%00', {}],
      ['get', '/api/issues/CHIPP-%00/spawns', {}],
      ['patch', '/api/issues/CHIPP-%00', { title: 'Renamed' }],
      ['post', '/api/issues/CHIPP-%00/spawn', {}],
    ] as const) {
      const res = await t.http[method](path).set(adminAuth).send(body);
      expect({ path, status: res.status, error: res.body.error }).toEqual({
        path,
        status: 404,
        error: 'ISSUE_NOT_FOUND',
      });
    }
    const agent = await t.http.post('/api/agent/issues/CHIPP-%00/status').set(agentAuth).send({ status: 'running' });
    expect(agent.status).toBe(404);
    for (const filter of ['text', 'source', 'feature', 'label']) {
      const res = await t.http.get(`/api/issues?${filter}=a%00b`).set(adminAuth);
      expect({ filter, status: res.status, body: res.body }).toEqual({
        filter,
        status: 200,
        body: { items: [], nextCursor: null },
      });
    }
  });

  it('answers a URL the router cannot decode, an over-long path parameter or a URL past the HTTP parser limit in the house error shape', async () => {
    const bad = await t.http.get('/api/issues/CHIPP-%ED%A0%80').set(adminAuth).set('X-Correlation-Id', 'edge-1');
    expect(bad.status).toBe(400);
    expect(bad.headers['x-correlation-id']).toBe('edge-1');
    expect(bad.body).toEqual({
      error: 'BAD_URL',
      message: expect.stringMatching(/^The URL is not valid: .*CHIPP-%ED%A0%80/),
      correlationId: 'edge-1',
    });
    const token = 'ghp_Zq8vT2mK9xR4bN7cW1pL5sD3fH6jY0aE8uGi';
    const long = await t.http.get(`/api/issues/${token}${'x'.repeat(200)}`).set(adminAuth);
    expect(long.status).toBe(414);
    expect(long.body).toMatchObject({ error: 'URI_TOO_LONG', correlationId: long.headers['x-correlation-id'] });
    expect(long.body.message).toMatch(/^A path parameter is too long/);
    expect(JSON.stringify(long.body)).not.toContain(token);
    // Past Node's 16 kB for the request line and headers, the HTTP parser refuses it before Fastify
    // has a request: 431, in Fastify's own shape until clientErrorReply.
    const huge = await t.http.get(`/api/issues?text=${'x'.repeat(100_000)}`).set(adminAuth);
    expect(huge.status).toBe(431);
    expect(huge.body).toEqual({
      error: 'HEADERS_TOO_LARGE',
      message: expect.stringMatching(/^The request line and headers exceed \d+ bytes/),
      correlationId: huge.headers['x-correlation-id'],
    });
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

  describe('Content-Encoding on JSON routes', () => {
    const batch = (message: string): Buffer =>
      Buffer.from(JSON.stringify({ events: [{ id: message, source: 's', feature: 'f', message }] }));
    const post = (body: Buffer, encoding: string) =>
      t.http
        .post('/api/events')
        .set(ingestAuth)
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .serialize((b: unknown) => b as string) // the bytes as they are, not JSON-encoded by superagent
        .send(body);

    it.each([
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
    ])('decodes %s before parsing', async (encoding, compress) => {
      const before = await count();
      const res = await post(compress(batch(`encoded with ${encoding}`)), encoding);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ received: 1, accepted: 1 });
      expect(await count()).toBe(before + 1);
    });

    it('answers 415 UNSUPPORTED_ENCODING to an encoding it does not know, writing nothing', async () => {
      const before = await count();
      const res = await post(batch('zstd'), 'zstd');
      expect(res.status).toBe(415);
      expect(res.body.error).toBe('UNSUPPORTED_ENCODING');
      expect(res.body.message).toMatch(/"zstd"/);
      expect(await count()).toBe(before);
    });

    it('answers 400 MALFORMED_BODY to bytes that are not what the encoding says', async () => {
      const res = await post(batch('not gzip'), 'gzip');
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('MALFORMED_BODY');
    });

    it('applies the body limit to the decoded bytes: a small gzip bomb is 413', async () => {
      const bomb = gzipSync(Buffer.from(`{"events":[],"pad":"${'x'.repeat(100_000)}"}`));
      expect(bomb.length).toBeLessThan(2048);
      const res = await post(bomb, 'gzip');
      expect(res.status).toBe(413);
      expect(res.body.message).toMatch(/2048 bytes/);
    });
  });

  describe('correlation ids', () => {
    it('echoes a well-formed X-Correlation-Id in the header and the error body, also before the body is read', async () => {
      const res = await t.http.post('/api/events').set('X-Correlation-Id', 'trace-123').send({ events: [] });
      expect(res.status).toBe(401);
      expect(res.headers['x-correlation-id']).toBe('trace-123');
      expect(res.body.correlationId).toBe('trace-123');
    });

    it('makes one for a request without it, the same in the header and the error body', async () => {
      const res = await t.http
        .post('/api/events')
        .set(ingestAuth)
        .set('Content-Type', 'application/json')
        .send('{"events": [');
      expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.body.correlationId).toBe(res.headers['x-correlation-id']);
    });

    it('replaces one that is not well formed', async () => {
      const res = await t.http.get('/api/issues').set(adminAuth).set('X-Correlation-Id', 'bad id with spaces');
      expect(res.status).toBe(200);
      expect(res.headers['x-correlation-id']).not.toBe('bad id with spaces');
    });
  });
});
