import { ingestAuth, truncateAll, useTestApp } from '../../support/test-app';
import { fixtureJson, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';
import { seededRandom } from '../../support/seeded-random';

/**
 * The receivers' promise for bad input, checked on many payloads rather than a handful: real
 * fixtures with one part changed at a time (a field removed, given another type, an odd string or
 * number), sent as their senders send them. Every answer is 2xx or 4xx, never 5xx, and a 4xx
 * writes nothing. Deterministic: the same mutations every run (a seeded generator);
 * `MUTATION_CASES=400` runs ten times as many for a longer hunt (session 9: 400 per fixture, none failed).
 */

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER,
  '',
  ' ',
  'x'.repeat(5_000),
  '\u0000',
  '\ud800',
  '🚀',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  '-271821-04-20T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '1e400',
  '99999999999999999999999',
  '-5',
  'NaN',
  '__proto__',
  [],
  [[]],
  {},
  { nested: { deeper: ['x'] } },
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every path to a value inside `doc` (the root excluded). */
function paths(doc: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(doc)) return doc.flatMap((item, i) => [[...prefix, i], ...paths(item, [...prefix, i])]);
  if (doc !== null && typeof doc === 'object') {
    return Object.entries(doc).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
  }
  return [];
}

function mutate(doc: Json, random: () => number): { doc: Json; what: string } {
  const copy = JSON.parse(JSON.stringify(doc)) as Json;
  const all = paths(copy);
  const path = all[Math.floor(random() * all.length)];
  let parent = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path[path.length - 1];
  if (random() < 0.2) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
    return { doc: copy, what: `removed ${path.join('.')}` };
  }
  const value = ODD_VALUES[Math.floor(random() * ODD_VALUES.length)] as Json;
  parent[last] = value;
  return { doc: copy, what: `${path.join('.')} = ${JSON.stringify(value)?.slice(0, 40)}` };
}

const CASES_PER_FIXTURE = Number(process.env.MUTATION_CASES ?? 40);

describe('receivers on mutated real payloads: never 5xx, and a 4xx writes nothing', () => {
  const t = useTestApp();

  const fixtures: [string, string, string[]][] = [
    ['/api/loki/webhook', 'grafana docs', ['grafana', 'grafana-docs-webhook-firing-2alerts.json']],
    ['/api/loki/webhook', 'grafana 11 values', ['grafana', 'zulip-grafana11-firing-values.json']],
    ['/api/loki/webhook', 'grafana 12 Loki rule', ['grafana', 'derived', 'DERIVED-grafana12-loki-rule-firing.json']],
    ['/api/loki/webhook', 'alertmanager', ['alertmanager', 'zulip-alertmanager-firing-2alerts.json']],
    ['/loki/api/v1/push', 'pino-loki push', ['loki', 'push', 'captured', 'pino-loki-3.0.0.push.json']],
    ['/loki/api/v1/push', 'winston-loki push', ['loki', 'push', 'captured', 'winston-loki-6.1.7-json.push.json']],
    [
      '/loki/api/v1/push',
      'Loki structured metadata',
      ['loki', 'push', 'loki-push_test-valid-structured-metadata.json'],
    ],
  ];

  it.each(fixtures)('%s: %s', async (route, _name, parts) => {
    const original = fixtureJson<Json>(...parts);
    const random = seededRandom(parts.join('/').length * 7919);
    const failures: string[] = [];
    for (let i = 0; i < CASES_PER_FIXTURE; i++) {
      await truncateAll(t.dataSource);
      const { doc, what } = mutate(original, random);
      const res = await t.http
        .post(route)
        .set(ingestAuth)
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(doc));
      if (res.status >= 500) failures.push(`${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      else if (res.status >= 400) {
        const written = Object.entries(await rowCounts(t.dataSource)).filter(([, n]) => n > 0);
        if (written.length > 0) failures.push(`${what}: ${res.status} but wrote ${JSON.stringify(written)}`);
        if (typeof res.body?.message !== 'string' || res.body.message === '') {
          failures.push(`${what}: ${res.status} without a message`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('events batch: mutated events', async () => {
    const original: Json = {
      events: [
        {
          id: 'e-1',
          source: 'checkout-api',
          feature: 'orders',
          message: 'Order 17 not found',
          level: 'error',
          timestamp: '2026-11-20T10:00:00Z',
          labels: { version: '1.4.2' },
          stack: 'Error: x\n    at y (y.ts:1:1)',
        },
        { source: 'checkout-api', feature: 'payments', message: 'Card declined', timestamp: 1_795_000_000_000 },
      ],
    };
    const random = seededRandom(42);
    const failures: string[] = [];
    for (let i = 0; i < CASES_PER_FIXTURE * 2; i++) {
      await truncateAll(t.dataSource);
      const { doc, what } = mutate(original, random);
      const res = await t.http
        .post('/api/events')
        .set(ingestAuth)
        .send(doc as object);
      if (res.status >= 500) failures.push(`${what}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      else if (res.status >= 400 && Object.values(await rowCounts(t.dataSource)).some((n) => n > 0)) {
        failures.push(`${what}: ${res.status} but wrote rows`);
      }
    }
    expect(failures).toEqual([]);
  });
});
