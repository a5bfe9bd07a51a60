import { Logger } from '@nestjs/common';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FakeLoki, lokiFixture } from '../../../../test/support/fake-loki';
import { sharedPath } from '../../../../test/support/shared-dir';
import { DomainError } from '../../../shared/errors/domain-error';
import { LokiClient, parseQueryResponse } from './loki-client';

const derived = (name: string): unknown =>
  JSON.parse(readFileSync(path.resolve(__dirname, '../../../../test/fixtures/verification', name), 'utf8'));

describe(parseQueryResponse.name, () => {
  it('reads a streams answer (Loki marshal test) with ns timestamps as bigint', () => {
    const r = parseQueryResponse(lokiFixture('loki-marshal-test-query_range-streams.json'));
    expect(r.resultType).toBe('streams');
    if (r.resultType !== 'streams') return;
    expect(r.warnings).toEqual(['this is a warning']);
    expect(r.streams).toEqual([
      {
        labels: { test: 'test' },
        entries: [
          { ns: 123456789012345n, line: 'super line', structuredMetadata: {}, parsed: {} },
          { ns: 123456789012346n, line: 'super line with labels', structuredMetadata: {}, parsed: {} },
        ],
      },
    ]);
  });

  it('reads the categorize-labels encoding: structured metadata and parsed labels apart from the stream', () => {
    const r = parseQueryResponse(
      lokiFixture('loki-marshal-test-query_range-streams-categorize-labels-structured-metadata.json'),
    );
    if (r.resultType !== 'streams') throw new Error('expected streams');
    expect(r.streams[0].entries[2]).toEqual({
      ns: 123456789012347n,
      line: 'super line with labels msg=text',
      structuredMetadata: { foo: 'a', bar: 'b' },
      parsed: { msg: 'text' },
    });
  });

  it('reads the docs streams example', () => {
    const r = parseQueryResponse(lokiFixture('loki-docs-query_range-streams.json'));
    if (r.resultType !== 'streams') throw new Error('expected streams');
    expect(r.streams[0].entries.map((e) => e.line)).toEqual(['foo', 'bar']);
    expect(r.streams[0].labels.job).toBe('varlogs');
  });

  it('reads matrix answers (marshal test and docs) and a vector', () => {
    const m = parseQueryResponse(lokiFixture('loki-marshal-test-query_range-matrix.json'));
    if (m.resultType !== 'matrix') throw new Error('expected matrix');
    expect(m.series[1]).toEqual({
      metric: { filename: '/var/hostlog/syslog', job: 'varlogs' },
      values: [
        [1568404331.324, 3.45],
        [1568404331.339, 4.45],
      ],
    });
    const docs = parseQueryResponse(lokiFixture('loki-docs-query_range-matrix-sum-rate-by-level.json'));
    if (docs.resultType !== 'matrix') throw new Error('expected matrix');
    expect(docs.series.map((s) => s.metric.level)).toEqual(['info', 'warn']);
    const v = parseQueryResponse(lokiFixture('loki-marshal-test-query-vector.json'));
    if (v.resultType !== 'vector') throw new Error('expected vector');
    expect(v.series[0].values).toEqual([[1568404331.324, 0.013333333333333334]]);
  });

  it('reads an empty result as nothing found, for streams and matrix', () => {
    expect(parseQueryResponse(derived('DERIVED-loki-query_range-streams-empty.json'))).toMatchObject({
      resultType: 'streams',
      streams: [],
    });
    expect(parseQueryResponse(derived('DERIVED-loki-query_range-matrix-empty.json'))).toMatchObject({
      resultType: 'matrix',
      series: [],
    });
  });

  it('rejects an error status and a malformed answer', () => {
    expect(() => parseQueryResponse({ status: 'error', error: 'parse error' })).toThrow(/parse error/);
    expect(() =>
      parseQueryResponse({ status: 'success', data: { resultType: 'streams', result: [{ values: [[1, 'x']] }] } }),
    ).toThrow(DomainError);
  });
});

describe(LokiClient.name, () => {
  let loki: FakeLoki;
  beforeAll(async () => {
    Logger.overrideLogger(false); // the retry warnings are expected here
    loki = await FakeLoki.start();
  });
  afterEach(() => loki.reset());
  afterAll(async () => {
    await loki.close();
  });

  const client = (over: Partial<ConstructorParameters<typeof LokiClient>[0]> = {}): LokiClient =>
    new LokiClient({ url: loki.url, timeoutMs: 2000, retries: 0, backoffMs: 1, ...over });

  it('sends the query, ns range, limit and direction with tenant, basic auth and categorize-labels headers', async () => {
    loki.respond(() => ({ body: lokiFixture('loki-marshal-test-query_range-streams.json') }));
    const r = await client({ tenantId: 'team-a', username: 'u', password: 'p' }).queryRange({
      query: '{app="a"} |= "x"',
      startNs: 1_700_000_000_000_000_000n,
      endNs: 1_700_000_060_000_000_000n,
      limit: 1000,
      direction: 'forward',
    });
    expect(r.resultType).toBe('streams');
    const [req] = loki.queryRequests();
    expect(req.params.get('query')).toBe('{app="a"} |= "x"');
    expect(req.params.get('start')).toBe('1700000000000000000');
    expect(req.params.get('end')).toBe('1700000060000000000');
    expect(req.params.get('limit')).toBe('1000');
    expect(req.params.get('direction')).toBe('forward');
    expect(req.headers['x-scope-orgid']).toBe('team-a');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    expect(req.headers['x-loki-response-encoding-flags']).toBe('categorize-labels');
  });

  it('reads every real Loki answer in the shared fixtures (and the derived empty ones) over HTTP', async () => {
    const dir = sharedPath('fixtures', 'loki', 'query');
    const bodies: Array<[string, unknown]> = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f, lokiFixture(f)]);
    bodies.push(['streams-empty', derived('DERIVED-loki-query_range-streams-empty.json')]);
    bodies.push(['matrix-empty', derived('DERIVED-loki-query_range-matrix-empty.json')]);
    expect(bodies.length).toBeGreaterThanOrEqual(8);
    for (const [name, body] of bodies) {
      loki.respond(() => ({ body }));
      const r = await client().queryRange({ query: '{a="b"}', startNs: 1n, endNs: 2n });
      const expected = (body as { data: { resultType: string; result: unknown[] } }).data;
      expect({ name, type: r.resultType }).toEqual({ name, type: expected.resultType });
      const n = r.resultType === 'streams' ? r.streams.length : r.series.length;
      expect({ name, n }).toEqual({ name, n: expected.result.length });
    }
  });

  it('sends a bearer token and keeps a path prefix of LOKI_URL', async () => {
    await client({ url: `${loki.url}/prefix/`, bearerToken: 'tok' }).queryRange({
      query: '{a="b"}',
      startNs: 1n,
      endNs: 2n,
    });
    expect(loki.requests[0].path).toBe('/prefix/loki/api/v1/query_range');
    expect(loki.requests[0].headers.authorization).toBe('Bearer tok');
  });

  it('retries a 5xx, a 429 and a dropped connection, then succeeds', async () => {
    let n = 0;
    loki.respond(() => {
      n++;
      if (n === 1) return { status: 503, body: 'unavailable' };
      if (n === 2) return { status: 429, body: 'too many' };
      if (n === 3) return { destroy: true };
      return { body: lokiFixture('loki-docs-query_range-streams.json') };
    });
    const r = await client({ retries: 3 }).queryRange({ query: '{a="b"}', startNs: 1n, endNs: 2n });
    expect(r.resultType).toBe('streams');
    expect(loki.queryRequests()).toHaveLength(4);
  });

  it('does not retry a 400 and names the problem', async () => {
    loki.respond(() => ({ status: 400, body: 'parse error at line 1' }));
    await expect(client({ retries: 3 }).queryRange({ query: '{', startNs: 1n, endNs: 2n })).rejects.toThrow(
      /Loki answered 400: parse error/,
    );
    expect(loki.queryRequests()).toHaveLength(1);
  });

  it('scrubs a secret Loki quotes before cutting its answer (kept as loki_last_error), also one the cut falls in', async () => {
    const token = 'vd5--_k_q0db-4+n6ok/6/qimurdobqairlz-cxxl-jf7z/6sqv+-_dt1hjerhb5g2kzs4ofwy9d_3t-pr';
    // the first 300 characters end inside the token: its closing tag, which the scrubber needs, is cut off
    const body = `${'x'.repeat(250)} <krakenToken>\n    ${token}\n</krakenToken>`;
    loki.respond(() => ({ status: 400, body }));
    const err = await client()
      .queryRange({ query: '{a="b"}', startNs: 1n, endNs: 2n })
      .catch((e: unknown) => e as DomainError);
    expect(err).toBeInstanceOf(DomainError);
    const message = (err as DomainError).message;
    expect(message).toMatch(/Loki answered 400: x+ <krakenToken>/);
    expect(message).not.toContain(token.slice(0, 8));
  });

  it('gives up after the timeout of each attempt', async () => {
    loki.respond(() => ({ delayMs: 500, body: lokiFixture('loki-docs-query_range-streams.json') }));
    await expect(
      client({ timeoutMs: 50, retries: 1 }).queryRange({ query: '{a="b"}', startNs: 1n, endNs: 2n }),
    ).rejects.toThrow(/did not answer within 50 ms/);
    expect(loki.queryRequests()).toHaveLength(2);
  });
});
