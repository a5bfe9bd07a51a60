import { truncateAll, useTestApp } from '../../support/test-app';
import { isHouseError } from '../../support/write-watch';
import { fixtureJson, issues, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';

const SECRET = 'test-deliveries-secret';
const bearer = { Authorization: `Bearer ${SECRET}` };

type Alert = {
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  fingerprint?: string;
  values?: Record<string, number> | null;
  valueString?: string;
};
type Payload = { version: string; status: string; alerts: Alert[]; truncatedAlerts?: number } & Record<string, unknown>;

const grafana = (): Payload => fixtureJson<Payload>('grafana', 'grafana-docs-webhook-firing-2alerts.json');
const alertmanager = (): Payload => fixtureJson<Payload>('alertmanager', 'zulip-alertmanager-firing-2alerts.json');

/**
 * What one alert delivery counts: each alert is one observation, keyed by its fingerprint,
 * `startsAt` and values, so a sender's retry or the other member of an HA pair never counts it
 * twice, and a new evaluation does.
 */
describe('POST /api/loki/webhook deliveries', () => {
  const t = useTestApp({ LOKI_WEBHOOK_SECRET: SECRET }, { truncateEachTest: true });

  const post = (payload: unknown) =>
    t.http
      .post('/api/loki/webhook')
      .set({ 'Content-Type': 'application/json', ...bearer })
      .send(JSON.stringify(payload));

  const totalCount = async (): Promise<number> =>
    (await issues(t.dataSource)).reduce((sum, i) => sum + Number(i.event_count), 0);

  /** Grafana's first doc alert alone (values B=44.2..., C=1: counts 44). */
  const oneGrafanaAlert = (): Payload => {
    const body = grafana();
    body.alerts = [body.alerts[0]];
    return body;
  };

  describe('the same alert from two HA members at once', () => {
    it.each([
      ['a new fingerprint (both race to file it)', false],
      ['a known fingerprint (both race to count it)', true],
    ])('counts it once: %s', async (_name, known) => {
      if (known) {
        const earlier = oneGrafanaAlert();
        earlier.alerts[0].startsAt = '2021-10-12T09:41:03.157076+02:00';
        await post(earlier).expect(200);
      }
      const before = await totalCount();
      const body = oneGrafanaAlert();
      const answers = await Promise.all([post(body), post(body), post(body), post(body)]);
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(answers.map((r) => r.body.accepted).sort()).toEqual([0, 0, 0, 1]);
      expect(answers.map((r) => r.body.duplicates).sort()).toEqual([0, 1, 1, 1]);
      expect(answers.reduce((n, r) => n + Number(r.body.issuesCreated), 0)).toBe(known ? 0 : 1);
      expect(await totalCount()).toBe(before + 44);
      expect((await issues(t.dataSource)).length).toBe(1);
    });

    it('counts an Alertmanager group once when both members send it at once', async () => {
      const answers = await Promise.all([post(alertmanager()), post(alertmanager())]);
      expect(answers.map((r) => r.status)).toEqual([200, 200]);
      expect(answers.reduce((n, r) => n + Number(r.body.accepted), 0)).toBe(2);
      expect(await totalCount()).toBe(2);
    });
  });

  it('counts a repeat notification after a new evaluation (new values) again, and its redelivery not', async () => {
    await post(oneGrafanaAlert()).expect(200);
    const next = oneGrafanaAlert();
    next.alerts[0].values = { B: 51, C: 1 };
    const res = await post(next).expect(200);
    expect(res.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(await totalCount()).toBe(44 + 51);
    expect((await post(next).expect(200)).body).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await totalCount()).toBe(44 + 51);
  });

  it('counts an Alertmanager alert (no values, no valueString) once per startsAt: a repeat_interval re-send is the same delivery, a new start is not', async () => {
    await post(alertmanager()).expect(200);
    expect((await post(alertmanager()).expect(200)).body).toMatchObject({ received: 2, accepted: 0, duplicates: 2 });
    expect(await totalCount()).toBe(2);
    const again = alertmanager();
    again.alerts = [{ ...again.alerts[0], startsAt: '2020-02-06T03:17:58.432911368Z' }];
    expect((await post(again).expect(200)).body).toMatchObject({ received: 1, accepted: 1 });
    expect(await totalCount()).toBe(3);
  });

  it('records a resolved alert for a fingerprint never seen as a notice: no issue, no link, no count', async () => {
    const body = grafana();
    body.status = 'resolved';
    body.alerts = [{ ...body.alerts[0], status: 'resolved', endsAt: '2021-10-12T10:30:00+02:00' }];
    const res = await post(body).expect(200);
    expect(res.body).toMatchObject({ received: 1, accepted: 1, notices: 1, issuesCreated: 0 });
    expect(await rowCounts(t.dataSource)).toMatchObject({
      issues: 0,
      external_issue_links: 0,
      error_events: 0,
      alert_notices: 1,
    });
    expect((await post(body).expect(200)).body).toMatchObject({ accepted: 0, duplicates: 1, notices: 0 });
    expect((await rowCounts(t.dataSource)).alert_notices).toBe(1);
  });

  it('takes each alert of a group by its own status: a "resolved" group may still carry a firing alert', async () => {
    const body = grafana();
    body.status = 'resolved';
    body.alerts[1] = { ...body.alerts[1], status: 'resolved', endsAt: '2021-10-12T10:30:00+02:00' };
    const res = await post(body).expect(200);
    expect(res.body).toMatchObject({ received: 2, accepted: 2, notices: 1, issuesCreated: 1 });
    // titled by the firing alert's summary annotation (no message label)
    expect((await issues(t.dataSource)).map((i) => i.title)).toEqual(['This alert was triggered for zone us-1']);
    expect((await t.dataSource.query(`SELECT alertname FROM alert_notices`)) as unknown[]).toEqual([
      { alertname: 'High CPU usage' },
    ]);
  });

  it('records the alerts a truncated group carries, and refuses a truncatedAlerts that is no count', async () => {
    const body = alertmanager();
    body.truncatedAlerts = 7;
    expect((await post(body).expect(200)).body).toMatchObject({ received: 2, accepted: 2 });
    await truncateAll(t.dataSource);
    for (const bad of [-1, 1.5, '3']) {
      const res = await post({ ...alertmanager(), truncatedAlerts: bad }).expect(400);
      expect(isHouseError(res.body)).toBe(true);
      expect(res.body.message).toMatch(/truncatedAlerts/);
    }
    expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
  });

  describe('an alert without a message label', () => {
    const withAnnotations = (annotations: Record<string, string>, labels?: Record<string, string>): Payload => {
      const body = alertmanager();
      body.alerts = [{ ...body.alerts[0], annotations, ...(labels ? { labels } : {}) }];
      return body;
    };

    it.each([
      ['the msg label', { summary: 'S', description: 'D' }, { alertname: 'A', msg: 'M' }, 'M'],
      ['a message annotation', { message: 'M', summary: 'S' }, undefined, 'M'],
      ['the summary annotation', { summary: 'S', description: 'D' }, undefined, 'S'],
      ['the description annotation', { description: 'D' }, undefined, 'D'],
      ['the alertname', { summary: '  ' }, undefined, 'High CPU Temperature'],
    ])('takes %s', async (_name, annotations, labels, title) => {
      await post(withAnnotations(annotations, labels)).expect(200);
      expect((await issues(t.dataSource)).map((i) => i.title)).toEqual([title]);
    });

    it('refuses an alert with no message, summary, description or alertname, naming it, writing nothing', async () => {
      const body = withAnnotations({}, { host: 'andromeda' });
      body.alerts.unshift(alertmanager().alerts[0]);
      const res = await post(body).expect(400);
      expect(isHouseError(res.body)).toBe(true);
      expect(res.body.message).toMatch(/alerts\[1\]\.labels/);
      expect(Object.values(await rowCounts(t.dataSource)).every((n) => n === 0)).toBe(true);
    });
  });
});
