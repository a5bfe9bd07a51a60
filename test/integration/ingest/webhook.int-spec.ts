import { DataSource } from 'typeorm';
import { parseAlertWebhook } from '../../../src/modules/ingest/parsers/alert-webhook.parser';
import { signGrafanaPayload } from '../../../src/modules/ingest/parsers/grafana-signature';
import {
  DEFAULT_ALERT_FEATURE_LABELS,
  DEFAULT_ALERT_MESSAGE_LABELS,
  DEFAULT_ALERT_SOURCE_LABELS,
} from '../../../src/modules/ingest/ingest-label-defaults';
import { adminAuth, truncateAll, useTestApp } from '../../support/test-app';
import { basicAuth, fixtureBytes, issues, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The HMAC test vectors are computed with this secret; the app runs with it as LOKI_WEBHOOK_SECRET. */
const SECRET = 'test-hmac-secret';
const bearer = { Authorization: `Bearer ${SECRET}` };

const ALERT_FIXTURES: [string, string[]][] = [
  ['grafana docs, 2 firing', ['grafana', 'grafana-docs-webhook-firing-2alerts.json']],
  ['grafana 11, values', ['grafana', 'zulip-grafana11-firing-values.json']],
  ['grafana 9, resolved', ['grafana', 'zulip-grafana9-resolved.json']],
  [
    'grafana default template (values null, zero startsAt)',
    ['grafana', 'grafana-alerting-unit-default-payload-template.json'],
  ],
  ['grafana 12 Loki rule (derived)', ['grafana', 'derived', 'DERIVED-grafana12-loki-rule-firing.json']],
  ['alertmanager v4, 2 firing', ['alertmanager', 'zulip-alertmanager-firing-2alerts.json']],
];

const LOCAL = (name: string): Buffer => readFileSync(path.join(__dirname, '../../fixtures/ingest', name));

function expected(bytes: Buffer) {
  return parseAlertWebhook(JSON.parse(bytes.toString('utf8')), {
    sourceLabels: DEFAULT_ALERT_SOURCE_LABELS,
    featureLabels: DEFAULT_ALERT_FEATURE_LABELS,
    messageLabels: DEFAULT_ALERT_MESSAGE_LABELS,
    receivedAt: new Date(),
  });
}

async function samples(
  ds: DataSource,
): Promise<{ message: string; occurred_at: Date; ingest_kind: string; count: number }[]> {
  return (await ds.query(`SELECT message, occurred_at, ingest_kind, count FROM error_events ORDER BY id`)) as {
    message: string;
    occurred_at: Date;
    ingest_kind: string;
    count: number;
  }[];
}

describe('POST /api/loki/webhook (Grafana v1, Alertmanager v4)', () => {
  const t = useTestApp({ LOKI_WEBHOOK_SECRET: SECRET }, { truncateEachTest: true });

  const post = (bytes: Buffer, headers: Record<string, string> = bearer) =>
    // As a string: superagent would JSON-encode a Buffer sent as application/json. The bytes are the file's.
    t.http
      .post('/api/loki/webhook')
      .set({ 'Content-Type': 'application/json', ...headers })
      .send(bytes.toString('utf8'));

  it.each(ALERT_FIXTURES)(
    'accepts %s as the sender sends it, with the observations it carries',
    async (_name, parts) => {
      const bytes = fixtureBytes(...parts);
      const want = expected(bytes);
      const firing = want.observations.filter((o) => o.status === 'firing' && !o.synthetic);
      const noticed = want.observations.length - firing.length;
      const res = await post(bytes);
      expect({ status: res.status, error: res.body.message }).toEqual({ status: 200, error: undefined });
      expect(res.body).toMatchObject({
        received: want.observations.length,
        accepted: want.observations.length,
        duplicates: 0,
        notices: noticed,
      });

      const stored = await samples(t.dataSource);
      expect(stored).toHaveLength(firing.length);
      const kinds = new Set(stored.map((s) => s.ingest_kind));
      if (firing.length > 0) expect([...kinds]).toEqual([want.kind]);
      // An alert without a usable startsAt takes the receipt time: compare those as "receipt".
      const when = (d: Date): string => (Math.abs(d.getTime() - Date.now()) < 60_000 ? 'receipt' : d.toISOString());
      expect(stored.map((s) => [s.message, when(new Date(s.occurred_at)), Number(s.count)]).sort()).toEqual(
        firing.map((o) => [o.message, when(o.occurredAt), o.count]).sort(),
      );
      const rows = await issues(t.dataSource);
      const total = rows.reduce((sum, i) => sum + Number(i.event_count), 0);
      expect(total).toBe(firing.reduce((sum, o) => sum + o.count, 0));
      expect(rows.every((i) => i.status === 'triage' && /^CHIPP-\d+$/.test(i.identifier))).toBe(true);
      const notices = (await t.dataSource.query(`SELECT count(*)::int AS n FROM alert_notices`)) as { n: number }[];
      expect(Number(notices[0].n)).toBe(noticed);
    },
  );

  it('counts the two Alertmanager alerts of one message on one issue, and a redelivery never twice', async () => {
    const bytes = fixtureBytes('alertmanager', 'zulip-alertmanager-firing-2alerts.json');
    const [first] = expected(bytes).observations;
    await post(bytes).expect(200);
    const before = await rowCounts(t.dataSource);
    const again = await post(bytes).expect(200);
    expect(again.body).toMatchObject({ received: 2, accepted: 0, duplicates: 2 });
    expect(await rowCounts(t.dataSource)).toEqual(before);
    const rows = await issues(t.dataSource);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ title: first.message, event_count: String(2 * first.count), priority: 4 });
  });

  it('records Grafana DatasourceNoData/DatasourceError as notices, never as issues', async () => {
    const body = JSON.parse(fixtureBytes('grafana', 'zulip-grafana11-firing-values.json').toString('utf8'));
    const alert = body.alerts[0];
    body.alerts = [
      {
        ...alert,
        labels: { alertname: 'DatasourceNoData', datasource_uid: 'loki', ref_id: 'A', rulename: 'Errors' },
        fingerprint: 'aaaa000000000001',
      },
      {
        ...alert,
        labels: { alertname: 'DatasourceError', datasource_uid: 'loki', ref_id: 'A', rulename: 'Errors' },
        fingerprint: 'aaaa000000000002',
      },
    ];
    const res = await post(Buffer.from(JSON.stringify(body))).expect(200);
    expect(res.body).toMatchObject({ received: 2, accepted: 2, notices: 2, issuesCreated: 0 });
    const counts = await rowCounts(t.dataSource);
    expect(counts).toMatchObject({ issues: 0, external_issue_links: 0, error_events: 0, alert_notices: 2 });
    const notices = (await t.dataSource.query(
      `SELECT kind, status, alertname FROM alert_notices ORDER BY alertname`,
    )) as unknown[];
    expect(notices).toEqual([
      { kind: 'synthetic', status: 'firing', alertname: 'DatasourceError' },
      { kind: 'synthetic', status: 'firing', alertname: 'DatasourceNoData' },
    ]);
  });

  it('records a resolved alert as a notice on its fingerprint, not as an occurrence (mixed group)', async () => {
    const mixed = LOCAL('grafana-mixed-firing-resolved.json');
    const want = expected(mixed);
    const firingCount = want.observations.find((o) => o.status === 'firing')?.count;
    const res = await post(mixed).expect(200);
    expect(res.body).toMatchObject({ received: 2, accepted: 2, notices: 1, issuesCreated: 1 });
    const counts = await rowCounts(t.dataSource);
    expect(counts).toMatchObject({ issues: 1, error_events: 1, alert_notices: 1 });
    const [notice] = (await t.dataSource.query(
      `SELECT kind, status, alertname, fingerprint, ends_at FROM alert_notices`,
    )) as {
      kind: string;
      status: string;
      alertname: string;
      fingerprint: string;
      ends_at: Date | null;
    }[];
    const resolved = want.observations.find((o) => o.status === 'resolved');
    expect(notice).toMatchObject({ kind: 'resolved', status: 'resolved', alertname: resolved?.labels.alertname });
    expect(notice.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // when the alert says it stopped firing, not when the notification arrived
    expect(new Date(notice.ends_at as Date).toISOString()).toBe('2022-06-17T00:51:24.067Z');

    // The alert that was firing resolves later: its link notes it, its counts stay.
    const firing = JSON.parse(mixed.toString('utf8'));
    firing.alerts = [{ ...firing.alerts[0], status: 'resolved', endsAt: '2021-10-12T10:30:00Z' }];
    firing.status = 'resolved';
    await post(Buffer.from(JSON.stringify(firing))).expect(200);
    const [link] = (await t.dataSource.query(`SELECT event_count, metadata FROM external_issue_links`)) as {
      event_count: string;
      metadata: { lastResolvedAt?: string };
    }[];
    expect(link.event_count).toBe(String(firingCount));
    expect(new Date(link.metadata.lastResolvedAt as string).toISOString()).toBe('2021-10-12T10:30:00.000Z');
    expect((await issues(t.dataSource))[0].event_count).toBe(String(firingCount));
    expect((await rowCounts(t.dataSource)).alert_notices).toBe(2);
  });

  it('accepts an Alertmanager group with a resolved alert and truncatedAlerts', async () => {
    const res = await post(LOCAL('alertmanager-mixed-firing-resolved-truncated.json')).expect(200);
    expect(res.body).toMatchObject({ received: 2, notices: 1, issuesCreated: 1 });
  });

  describe('auth', () => {
    const body = () => fixtureBytes('grafana', 'zulip-grafana9-resolved.json');

    it('accepts the secret as Bearer token and as Basic-auth password', async () => {
      await post(fixtureBytes('grafana', 'grafana-docs-webhook-firing-2alerts.json'), bearer).expect(200);
      await truncateAll(t.dataSource);
      await post(
        fixtureBytes('grafana', 'grafana-docs-webhook-firing-2alerts.json'),
        basicAuth(SECRET, 'grafana'),
      ).expect(200);
      expect((await rowCounts(t.dataSource)).issues).toBe(2);
    });

    it('accepts the Grafana HMAC test vector without a timestamp (no Authorization header)', async () => {
      const vectors = JSON.parse(
        fixtureBytes('grafana', 'derived', 'COMPUTED-hmac-test-vectors.json').toString('utf8'),
      );
      await post(body(), { 'X-Grafana-Alerting-Signature': vectors.noTimestamp.value }).expect(200);
      expect((await rowCounts(t.dataSource)).alert_notices).toBe(1);
    });

    it("accepts a fresh signed timestamp and refuses the vector's old one as stale", async () => {
      const vectors = JSON.parse(
        fixtureBytes('grafana', 'derived', 'COMPUTED-hmac-test-vectors.json').toString('utf8'),
      );
      const stale = await post(body(), {
        'X-Grafana-Alerting-Signature': vectors.withTimestamp.value,
        'X-Grafana-Alerting-Timestamp': vectors.withTimestamp.timestamp,
      }).expect(401);
      expect(stale.body.error).toBe('AUTH_INVALID');
      expect(await rowCounts(t.dataSource)).toMatchObject({ ingest_deliveries: 0, alert_notices: 0 });

      const now = String(Math.floor(Date.now() / 1000));
      await post(body(), {
        'X-Grafana-Alerting-Signature': signGrafanaPayload(SECRET, body(), now),
        'X-Grafana-Alerting-Timestamp': now,
      }).expect(200);
      expect((await rowCounts(t.dataSource)).alert_notices).toBe(1);
    });

    it.each([
      ['no credentials', {}],
      ['a wrong Bearer secret', { Authorization: 'Bearer not-the-secret' }],
      ['a wrong Basic password', basicAuth('not-the-secret')],
      [
        'a signature by another secret',
        {
          'X-Grafana-Alerting-Signature': signGrafanaPayload(
            'another-secret',
            fixtureBytes('grafana', 'zulip-grafana9-resolved.json'),
          ),
        },
      ],
      ['a malformed signature', { 'X-Grafana-Alerting-Signature': 'sha256=abc' }],
      [
        'a valid signature with a tampered timestamp',
        {
          'X-Grafana-Alerting-Signature': signGrafanaPayload(
            SECRET,
            fixtureBytes('grafana', 'zulip-grafana9-resolved.json'),
            '1767225600',
          ),
          'X-Grafana-Alerting-Timestamp': String(Math.floor(Date.now() / 1000)),
        },
      ],
    ])('answers 401 to %s and writes nothing', async (_name, headers) => {
      const res = await post(body(), headers as Record<string, string>).expect(401);
      expect(res.body).toMatchObject({ error: expect.stringMatching(/^AUTH_/), correlationId: expect.any(String) });
      expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    });

    it('answers 403 to the admin key (another scope), as the other receivers do, and writes nothing', async () => {
      const res = await post(body(), adminAuth).expect(403);
      expect(res.body).toMatchObject({ error: 'AUTH_WRONG_SCOPE' });
      expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    });
  });

  describe('bad input', () => {
    it.each([
      ['malformed JSON', '{"version":"1","alerts":[', 400, /JSON/],
      ['an unknown version', JSON.stringify({ version: '2', alerts: [] }), 400, /version "2" is not supported/],
      ['no version (custom payload template)', JSON.stringify({ alerts: [] }), 400, /version is missing/],
      ['alerts not an array', JSON.stringify({ version: '1', alerts: {} }), 400, /alerts/],
      [
        'a label of the wrong type',
        JSON.stringify({ version: '4', alerts: [{ status: 'firing', labels: { alertname: 'X', team: 7 } }] }),
        400,
        /alerts\[0\]\.labels\.team/,
      ],
      [
        'a bad alert status',
        JSON.stringify({ version: '1', alerts: [{ status: 'pending', labels: { alertname: 'X' } }] }),
        400,
        /alerts\[0\]\.status/,
      ],
    ])('answers %s with %d naming the problem, and writes nothing', async (_name, text, status, message) => {
      const res = await t.http
        .post('/api/loki/webhook')
        .set(bearer)
        .set('Content-Type', 'application/json')
        .send(text)
        .expect(status);
      expect(`${res.body.error}: ${res.body.message}`).toMatch(message);
      expect(res.body.correlationId).toEqual(expect.any(String));
      expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    });

    it('answers a body over REQUEST_BODY_LIMIT_BYTES with 413', async () => {
      const big = JSON.stringify({ version: '1', alerts: [], pad: 'x'.repeat(t.config.REQUEST_BODY_LIMIT_BYTES + 10) });
      const res = await t.http
        .post('/api/loki/webhook')
        .set(bearer)
        .set('Content-Type', 'application/json')
        .send(big)
        .expect(413);
      expect(res.body.error).toBe('PAYLOAD_TOO_LARGE');
      expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(0);
    });

    it('answers a non-JSON body with 415', async () => {
      const res = await t.http
        .post('/api/loki/webhook')
        .set(bearer)
        .set('Content-Type', 'text/plain')
        .send('hello')
        .expect(415);
      expect(res.body.error).toBe('INGEST_UNSUPPORTED_MEDIA_TYPE');
    });
  });
});
