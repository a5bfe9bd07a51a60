import { ingestAuth, useTestApp } from '../../support/test-app';
import { fixtureJson } from '../../fixtures/ingest-service/ingest-test-helpers';
import { SecretRow, readCorpus } from '../../support/corpora';

/** The shared corpus of real secret formats, read in place (never copied). */
const CORPUS = readCorpus<SecretRow>('secrets.jsonl.gz')
  // every row that fits a label value; a secret shorter than 12 characters could turn up by chance
  .filter((r) => r.text.length <= 200 && r.secret.length >= 12);
/** Rows short enough for an event's `level` (at most 32 characters). */
const SHORT = CORPUS.filter((r) => r.text.length <= 32);

/**
 * Secrets reach fixloop in every field a sender controls, not only in messages: label values and
 * names, the labels that become an issue's source and feature, the level, the build version, the
 * alert name of a resolved alert, Loki stream labels and structured metadata. None of them may rest
 * in the database: every table is read back whole and searched for every secret sent.
 */
describe('secrets in any ingested field never rest in the database', () => {
  const t = useTestApp({}, { truncateEachTest: true });

  it('scrubs the corpus from events, alert webhooks and Loki pushes, in every column of every table', async () => {
    expect(CORPUS.length).toBeGreaterThan(350);
    expect(SHORT.length).toBeGreaterThan(5);
    const row = (i: number) => CORPUS[i % CORPUS.length].text;

    // events: each corpus row lands in one of six fields of some event
    const events = [];
    for (let i = 0; i < CORPUS.length; i += 6) {
      events.push({
        source: row(i),
        feature: row(i + 1),
        message: `Request failed: ${row(i + 2)}`,
        stack: `Error: ${row(i + 3)}\n    at handler (/app/src/x.js:1:1)`,
        level: SHORT[(i / 6) % SHORT.length].text,
        labels: {
          ...(row(i + 4).length <= 128 ? { [row(i + 4)]: 'label named by a secret' } : {}),
          version: row(i + 5),
          note: row(i + 4),
        },
      });
    }
    await t.http.post('/api/events').set(ingestAuth).send({ events }).expect(202);

    // an alert webhook: firing, resolved (its alert name) and a synthetic alert
    const payload = fixtureJson<{ alerts: Record<string, unknown>[] } & Record<string, unknown>>(
      'grafana',
      'derived',
      'DERIVED-grafana12-loki-rule-firing.json',
    );
    const [template] = payload.alerts;
    const alert = (n: number, status: string, labels: Record<string, string>) => ({
      ...template,
      status,
      labels,
      fingerprint: `5ec4e75a1e${String(n).padStart(6, '0')}`,
      startsAt: new Date(Date.now() - 60_000).toISOString(),
      ...(status === 'resolved' ? { endsAt: new Date().toISOString() } : {}),
    });
    payload.alerts = [
      alert(1, 'firing', {
        alertname: 'fixloop new error',
        source: row(10),
        feature: row(11),
        msg: row(12),
        severity: row(13),
        version: row(14),
      }),
      alert(2, 'resolved', { alertname: row(15), source: 'billing', feature: 'api', msg: row(16) }),
      alert(3, 'firing', { alertname: 'DatasourceError', datasource_uid: row(17), ref_id: row(18) }),
    ];
    await t.http.post('/api/loki/webhook').set(ingestAuth).send(payload).expect(200);

    // a Loki push: the stream labels that name the source and feature, and structured metadata
    await t.http
      .post('/loki/api/v1/push')
      .set(ingestAuth)
      .set('Content-Type', 'application/json')
      .send({
        streams: [
          {
            stream: { service_name: row(20), component: row(21), level: 'error' },
            values: [
              [
                `${Date.now()}000000`,
                JSON.stringify({ level: 'error', msg: row(22), err: { stack: row(23) } }),
                { trace_id: row(24), ...(row(25).length <= 128 ? { [row(25)]: 'metadata named by a secret' } : {}) },
              ],
            ],
          },
        ],
      })
      .expect(204);

    const tables = (
      (await t.dataSource.query(
        `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`,
      )) as { table_name: string }[]
    ).map((r) => r.table_name);
    let dump = '';
    for (const table of tables) {
      const [{ rows }] = (await t.dataSource.query(
        `SELECT coalesce(string_agg(t::text, E'\\n'), '') AS rows FROM "${table}" t`,
      )) as { rows: string }[];
      dump += rows;
    }
    // the requests were stored (scrubbed), not dropped
    expect(dump).toContain('[REDACTED:');
    expect(dump).toContain('Request failed');

    const leaked = CORPUS.filter((r) =>
      [r.secret, ...(r.other_secrets ?? [])].some((s) => s.length >= 12 && dump.includes(s)),
    ).map((r) => r.format);
    expect(leaked).toEqual([]);
  });
});
