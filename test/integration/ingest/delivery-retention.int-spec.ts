import { DeliveryRetentionCron } from '../../../src/modules/ingest/delivery-retention.cron';
import { ingestAuth, useTestApp } from '../../support/test-app';
import { issues, rowCounts } from '../../fixtures/ingest-service/ingest-test-helpers';

describe('delivery keys are kept INGEST_DELIVERY_RETENTION_HOURS, then deleted', () => {
  const t = useTestApp({ INGEST_DELIVERY_RETENTION_HOURS: '24' }, { truncateEachTest: true });
  let cron: DeliveryRetentionCron;

  beforeAll(() => {
    cron = t.app.get(DeliveryRetentionCron);
  });

  const send = (id: string) =>
    t.http
      .post('/api/events')
      .set(ingestAuth)
      .send({ events: [{ id, source: 'svc', feature: 'f', message: 'Order 7 failed' }] })
      .expect(202);
  const keys = async (): Promise<string[]> =>
    (
      (await t.dataSource.query(`SELECT delivery_key FROM ingest_deliveries ORDER BY received_at`)) as {
        delivery_key: string;
      }[]
    ).map((r) => r.delivery_key);

  it('deletes the keys older than the retention and keeps counts; a redelivery of a deleted key counts again', async () => {
    for (const id of ['old-1', 'old-2', 'new-1']) await send(id);
    const [old1, old2, new1] = await keys();
    await t.dataSource.query(
      `UPDATE ingest_deliveries SET received_at = now() - interval '25 hours' WHERE delivery_key = ANY($1)`,
      [[old1, old2]],
    );

    expect(await cron.prune()).toBe(2);
    expect(await keys()).toEqual([new1]);
    expect((await issues(t.dataSource))[0].event_count).toBe('3');

    await send('new-1').expect((res) => expect(res.body).toMatchObject({ accepted: 0, duplicates: 1 }));
    await send('old-1').expect((res) => expect(res.body).toMatchObject({ accepted: 1, duplicates: 0 }));
    expect((await issues(t.dataSource))[0].event_count).toBe('4');
    expect(await cron.prune()).toBe(0);
  });

  it('deletes a large backlog in batches, and replicas pruning at once delete each key once', async () => {
    await t.dataSource.query(
      `INSERT INTO ingest_deliveries (delivery_key, kind, received_at)
       SELECT 'k' || g, 'loki', now() - interval '2 days' - g * interval '1 second' FROM generate_series(1, 12000) AS g`,
    );
    await send('fresh');
    const deleted = await Promise.all([cron.prune(), cron.prune()]);
    expect(deleted[0] + deleted[1]).toBe(12000);
    expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(1);
  });

  it('catches up with a backlog larger than 200,000 keys in one run: sustained traffic writes more than a capped run deleted', async () => {
    // One key per pushed line: at 1,000 lines a second, 300,000 keys expire between two runs
    // (WORKER_POLL_SECONDS x 20 = 5 minutes). A run capped at 40 batches of 5,000 left 200,001 - 200,000.
    await t.dataSource.query(
      `INSERT INTO ingest_deliveries (delivery_key, kind, received_at)
       SELECT 'k' || g, 'loki', now() - interval '2 days' FROM generate_series(1, 200001) AS g`,
    );
    await send('fresh');
    expect(await cron.prune()).toBe(200001);
    expect((await rowCounts(t.dataSource)).ingest_deliveries).toBe(1);
  });

  it('deletes alert notices older than ALERT_NOTICE_RETENTION_DAYS, in batches until caught up, and keeps the newer', async () => {
    await t.dataSource.query(
      `INSERT INTO alert_notices (kind, status, alertname, received_at)
       SELECT 'synthetic', 'firing', 'DatasourceNoData', now() - interval '31 days' - g * interval '1 second'
         FROM generate_series(1, 5001) AS g`,
    );
    await t.dataSource.query(
      `INSERT INTO alert_notices (kind, status, alertname, received_at) VALUES ('resolved', 'resolved', 'Recent', now() - interval '29 days')`,
    );
    const deleted = await Promise.all([cron.pruneNotices(), cron.pruneNotices()]);
    expect(deleted[0] + deleted[1]).toBe(5001);
    expect(await t.dataSource.query(`SELECT alertname FROM alert_notices`)).toEqual([{ alertname: 'Recent' }]);
    expect(await cron.pruneNotices()).toBe(0);
  });
});
