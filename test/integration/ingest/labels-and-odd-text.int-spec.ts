import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parse } from 'yaml';
import { agentAuth, ingestAuth, useTestApp } from '../../support/test-app';
import { fixtureJson, issues, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';

/** The shape of a Grafana webhook the tests below rewrite (the Grafana 12 Loki-rule fixture). */
interface GrafanaPayload {
  alerts: {
    status: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    fingerprint: string;
    startsAt: string;
    values: Record<string, number> | null;
  }[];
  [key: string]: unknown;
}

interface ProvisionedRule {
  uid: string;
  title: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

const RULES = (
  parse(readFileSync(path.join(__dirname, '../../../deploy/grafana/alert-rules.yaml'), 'utf8')) as {
    groups: { name: string; folder: string; rules: ProvisionedRule[] }[];
  }
).groups;

/**
 * The webhook Grafana sends for one series of a provisioned fixloop rule: the series labels the
 * rule's `sum by (source, feature, msg)` produces, the rule's own labels, and its annotations with
 * the label templates filled in, as Grafana renders them.
 */
function provisionedAlert(
  uid: string,
  series: { source: string; feature: string; msg: string },
  count: number,
  fingerprint: string,
): GrafanaPayload {
  const group = RULES.find((g) => g.rules.some((r) => r.uid === uid));
  const rule = group?.rules.find((r) => r.uid === uid);
  if (group === undefined || rule === undefined) throw new Error(`no provisioned rule ${uid}`);
  const render = (template: string) =>
    template
      .replace(/\{\{ \$labels\.(\w+) \}\}/g, (_m, name: keyof typeof series) => series[name])
      .replace(/\{\{ \$values\.A\.Value \}\}/g, String(count));
  const payload = fixtureJson<GrafanaPayload>('grafana', 'derived', 'DERIVED-grafana12-loki-rule-firing.json');
  const [template] = payload.alerts;
  payload.alerts = [
    {
      ...template,
      labels: { alertname: rule.title, grafana_folder: group.folder, ...rule.labels, ...series },
      annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, render(v)])),
      fingerprint,
      startsAt: new Date().toISOString(),
      values: { A: count, C: 1 },
    },
  ];
  return payload;
}

describe('ingest: the provisioned Grafana rule, configured label names, and text PostgreSQL cannot store', () => {
  describe('default label names', () => {
    const t = useTestApp({ SAMPLE_INTERVAL_MS: '0' }, { truncateEachTest: true });

    it("files an alert of the provisioned new-error rule under its series' source, feature and msg, counted by its value", async () => {
      const series = { source: 'checkout-api', feature: 'payments', msg: 'Card declined for cus_abc123' };
      const res = await t.http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .send(provisionedAlert('fixloop-new-error', series, 4, 'a1b2c3d4e5f60001'))
        .expect(200);
      expect(res.body).toMatchObject({ received: 1, accepted: 1, issuesCreated: 1 });
      const [issue] = await issues(t.dataSource);
      expect(issue).toMatchObject({
        source: 'checkout-api',
        feature: 'payments',
        title: 'Card declined for cus_abc123',
        normalized_message: 'Card declined for cus_*',
        event_count: '4',
      });
    });

    it('files the spike rule for the same series on the same issue', async () => {
      const series = { source: 'checkout-api', feature: 'payments', msg: 'Card declined for cus_abc123' };
      await t.http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .send(provisionedAlert('fixloop-new-error', series, 4, 'a1b2c3d4e5f60001'))
        .expect(200);
      await t.http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .send(
          provisionedAlert(
            'fixloop-error-spike',
            { ...series, msg: 'Card declined for cus_zz9' },
            25,
            'a1b2c3d4e5f60002',
          ),
        )
        .expect(200);
      const all = await issues(t.dataSource);
      expect(all.map((i) => [i.source, i.feature, i.event_count])).toEqual([['checkout-api', 'payments', '29']]);
    });

    it('stores NUL and unpaired surrogates as U+FFFD from all three receivers, answering 2xx', async () => {
      const odd = 'Upload of "a\u0000b" failed: bad name \ud800 here';
      const stored = 'Upload of "a\ufffdb" failed: bad name \ufffd here';
      const alert = provisionedAlert(
        'fixloop-new-error',
        { source: 'files\u0000api', feature: 'uploads', msg: odd },
        1,
        'a1b2c3d4e5f60003',
      );
      alert.alerts[0].labels['odd\u0000key'] = 'value\udc00';
      await t.http.post('/api/loki/webhook').set(ingestAuth).send(alert).expect(200);
      await t.http
        .post('/loki/api/v1/push')
        .set(ingestAuth)
        .set('Content-Type', 'application/json')
        .send({
          streams: [
            {
              stream: { service_name: 'files\u0000api', level: 'error', feature: 'uploads' },
              values: [[`${Date.now()}000000`, JSON.stringify({ msg: odd }), { trace_id: 'x\u0000y' }]],
            },
          ],
        })
        .expect(204);
      await t.http
        .post('/api/events')
        .set(ingestAuth)
        .send({
          events: [
            {
              source: 'files\u0000api',
              feature: 'uploads',
              message: odd,
              stack: 'Error\u0000\n    at x',
              labels: { 'k\ud800': 'v\u0000' },
            },
          ],
        })
        .expect(202);

      const all = await issues(t.dataSource);
      expect(all.map((i) => [i.source, i.title, i.event_count])).toEqual([['files\ufffdapi', stored, '3']]);
      const samples = (await t.dataSource.query(`SELECT message, stack, labels FROM error_events ORDER BY id`)) as {
        message: string;
        stack: string | null;
        labels: Record<string, string>;
      }[];
      expect(samples.map((s) => s.message)).toEqual([stored, stored, stored]);
      expect(samples[0].labels['odd\ufffdkey']).toBe('value\ufffd');
      expect(samples[1].labels.trace_id).toBe('x\ufffdy');
      expect(samples[2]).toMatchObject({ stack: 'Error\ufffd\n    at x', labels: { 'k\ufffd': 'v\ufffd' } });
    });

    it('records a resolved alert with a NUL in its labels as a notice', async () => {
      const alert = provisionedAlert(
        'fixloop-new-error',
        { source: 'files-api', feature: 'uploads', msg: 'gone' },
        1,
        'a1b2c3d4e5f60004',
      );
      alert.alerts[0].status = 'resolved';
      alert.alerts[0].labels.extra = 'a\u0000b';
      const res = await t.http.post('/api/loki/webhook').set(ingestAuth).send(alert).expect(200);
      expect(res.body).toMatchObject({ notices: 1 });
      const [notice] = (await t.dataSource.query(`SELECT labels FROM alert_notices`)) as {
        labels: Record<string, string>;
      }[];
      expect(notice.labels.extra).toBe('a\ufffdb');
    });

    it("stores an agent's callback text with a NUL as U+FFFD (every JSON route, not only the receivers)", async () => {
      await t.http
        .post('/api/events')
        .set(ingestAuth)
        .send({ events: [{ source: 'svc', feature: 'f', message: 'Order 1 failed' }] })
        .expect(202);
      const [issue] = await issues(t.dataSource);
      const res = await t.http
        .post(`/api/agent/issues/${issue.identifier}/activity`)
        .set(agentAuth)
        .send({ type: 'note', message: 'tool output: a\u0000b', data: { 'k\ud800': ['x\u0000'] } });
      expect(res.status).toBeLessThan(300);
      const [row] = (await t.dataSource.query(`SELECT message, data FROM agent_activity`)) as {
        message: string;
        data: Record<string, unknown>;
      }[];
      expect(row).toEqual({ message: 'tool output: a\ufffdb', data: { 'k\ufffd': ['x\ufffd'] } });
    });

    it("counts an observation stamped far in the future at its receipt time, and keeps one within Loki's grace period", async () => {
      const before = Date.now();
      const soon = new Date(before + 5 * 60_000).toISOString();
      await t.http
        .post('/api/events')
        .set(ingestAuth)
        .send({
          events: [
            { source: 'svc', feature: 'clock', message: 'Clock skewed by years', timestamp: '2100-01-01T00:00:00Z' },
            { source: 'svc', feature: 'clock', message: 'Clock a little ahead', timestamp: soon },
          ],
        })
        .expect(202);
      const all = await issues(t.dataSource);
      const skewed = all.find((i) => i.title === 'Clock skewed by years');
      const ahead = all.find((i) => i.title === 'Clock a little ahead');
      expect(new Date(skewed!.last_seen_at).getTime()).toBeGreaterThanOrEqual(before);
      expect(new Date(skewed!.last_seen_at).getTime()).toBeLessThanOrEqual(Date.now());
      expect(new Date(ahead!.last_seen_at).toISOString()).toBe(soon);
    });

    it('files a source or feature label of any length, clipped to 200 characters (an index entry has a limit)', async () => {
      // Random hex does not compress: 100 kB of it is past what a btree entry can hold.
      const long = randomBytes(50_000).toString('hex');
      const ns = `${Date.now()}000000`;
      for (const stream of [
        { service_name: long, level: 'error' },
        { service_name: 'billing', component: long, level: 'error' },
      ]) {
        await t.http
          .post('/loki/api/v1/push')
          .set(ingestAuth)
          .send({ streams: [{ stream, values: [[ns, 'Ledger 42 out of balance']] }] })
          .expect(204);
      }
      const series = { source: `grafana-${long}`, feature: 'payments', msg: 'Card declined for cus_abc123' };
      await t.http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .send(provisionedAlert('fixloop-new-error', series, 1, 'a1b2c3d4e5f60009'))
        .expect(200);
      const filed = await issues(t.dataSource);
      expect(filed.map((i) => [i.source, i.feature]).sort()).toEqual(
        [
          [long.slice(0, 200), 'default'],
          ['billing', long.slice(0, 200)],
          [`grafana-${long}`.slice(0, 200), 'payments'],
        ].sort(),
      );
      // The same long label again is the same issue.
      await t.http
        .post('/loki/api/v1/push')
        .set(ingestAuth)
        .send({
          streams: [{ stream: { service_name: long, level: 'error' }, values: [[ns, 'Ledger 43 out of balance']] }],
        })
        .expect(204);
      expect(await issues(t.dataSource)).toHaveLength(3);
    });

    it('answers every one of concurrent requests when one of them carries a NUL', async () => {
      const posts = Array.from({ length: 8 }, (_, i) =>
        t.http
          .post('/api/events')
          .set(ingestAuth)
          .send({
            events: [{ source: 'svc', feature: 'f', message: i === 3 ? 'broken \u0000 name' : `Order ${i} failed` }],
          }),
      );
      const answers = await Promise.all(posts);
      expect(answers.map((r) => r.status)).toEqual(Array(8).fill(202));
      expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(8);
    });
  });

  describe('label names set by configuration', () => {
    const t = useTestApp(
      {
        ALERT_SOURCE_LABELS: 'team_service',
        ALERT_FEATURE_LABELS: 'area',
        ALERT_MESSAGE_LABELS: 'error_text',
        LOKI_SOURCE_LABELS: 'svc',
        LOKI_FEATURE_LABELS: 'module',
        LOKI_LEVEL_LABELS: 'sev',
        LOKI_JSON_LEVEL_FIELDS: 'loglevel',
        LOKI_ERROR_LEVELS: 'bad',
        ALERT_COUNT_REF_IDS: 'B',
      },
      { truncateEachTest: true },
    );

    it('reads source, feature and message of an alert from the configured labels, not the defaults', async () => {
      const payload = provisionedAlert(
        'fixloop-new-error',
        { source: 'default-source', feature: 'default-feature', msg: 'default message' },
        1,
        'a1b2c3d4e5f60005',
      );
      Object.assign(payload.alerts[0].labels, {
        team_service: 'billing',
        area: 'invoices',
        error_text: 'Invoice 12 stuck',
      });
      await t.http.post('/api/loki/webhook').set(ingestAuth).send(payload).expect(200);
      expect((await issues(t.dataSource)).map((i) => [i.source, i.feature, i.title])).toEqual([
        ['billing', 'invoices', 'Invoice 12 stuck'],
      ]);
    });

    it("counts an alert by the configured refId, unless its rule's fixloop_count_ref annotation says otherwise", async () => {
      const alert = (fingerprint: string, msg: string, annotations: Record<string, string>) => {
        const payload = provisionedAlert('fixloop-new-error', { source: 's', feature: 'f', msg }, 7, fingerprint);
        Object.assign(payload.alerts[0], { values: { A: 7, B: 3, C: 1 } });
        payload.alerts[0].labels.error_text = msg; // this app's ALERT_MESSAGE_LABELS
        payload.alerts[0].annotations = annotations;
        return payload;
      };
      await t.http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .send(alert('a1b2c3d4e5f60011', 'Queue stalled', {}))
        .expect(200);
      await t.http
        .post('/api/loki/webhook')
        .set(ingestAuth)
        .send(alert('a1b2c3d4e5f60012', 'Memory high', { fixloop_count_ref: 'none' }))
        .expect(200);
      expect((await issues(t.dataSource)).map((i) => [i.title, i.event_count])).toEqual([
        ['Queue stalled', '3'],
        ['Memory high', '1'],
      ]);
    });

    it('takes pushed lines as errors by the configured level label, JSON field and levels only', async () => {
      const ns = `${Date.now()}000000`;
      const res = await t.http
        .post('/loki/api/v1/push')
        .set(ingestAuth)
        .set('Content-Type', 'application/json')
        .send({
          streams: [
            {
              stream: { svc: 'billing', module: 'invoices', sev: 'bad' },
              values: [[ns, 'Invoice 12 stuck']],
            },
            {
              stream: { svc: 'billing', module: 'ledger' },
              values: [
                [ns, JSON.stringify({ loglevel: 'bad', msg: 'Ledger 7 out of balance' })],
                [ns, JSON.stringify({ level: 'error', msg: 'not an error under this configuration' })],
              ],
            },
            { stream: { svc: 'billing', level: 'error' }, values: [[ns, 'nor is this']] },
          ],
        });
      expect(res.status).toBe(204);
      expect((await issues(t.dataSource)).map((i) => [i.source, i.feature, i.title])).toEqual([
        ['billing', 'invoices', 'Invoice 12 stuck'],
        ['billing', 'ledger', 'Ledger 7 out of balance'],
      ]);
    });
  });
});
