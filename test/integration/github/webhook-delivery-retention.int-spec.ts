import { WebhookDeliveryRetentionCron } from '../../../src/modules/github/webhook-delivery-retention.cron';
import { useTestApp } from '../../support/test-app';
import { deliver, exampleFixture } from './webhook-support';

describe('GitHub delivery ids are kept GITHUB_DELIVERY_RETENTION_DAYS, then deleted', () => {
  const t = useTestApp({ GITHUB_DELIVERY_RETENTION_DAYS: '10' }, { truncateEachTest: true });
  let cron: WebhookDeliveryRetentionCron;

  beforeAll(() => {
    cron = t.app.get(WebhookDeliveryRetentionCron);
  });

  const ids = async (): Promise<string[]> =>
    (
      (await t.dataSource.query(`SELECT delivery_id FROM webhook_deliveries ORDER BY delivery_id`)) as {
        delivery_id: string;
      }[]
    ).map((r) => r.delivery_id);

  it('deletes the ids older than the retention, in batches until caught up; replicas pruning at once delete each once', async () => {
    await t.dataSource.query(
      `INSERT INTO webhook_deliveries (provider, delivery_id, event, action, received_at)
       SELECT 'github', 'old-' || g, 'workflow_run', 'completed', now() - interval '11 days' - g * interval '1 second'
         FROM generate_series(1, 5001) AS g`,
    );
    await deliver(t.http, 'ping', exampleFixture('ping.examples-0.json'), { deliveryId: 'recent' }).expect(200);
    // Another ping (another body: the same body under a new id is a replay, not stored).
    const another = { ...exampleFixture('ping.examples-0.json'), zen: 'Keep it logically awesome.' };
    await deliver(t.http, 'ping', another, { deliveryId: 'aged' }).expect(200);
    await t.dataSource.query(
      `UPDATE webhook_deliveries SET received_at = now() - interval '9 days' WHERE delivery_id = 'aged'`,
    );

    const deleted = await Promise.all([cron.prune(), cron.prune()]);
    expect(deleted[0] + deleted[1]).toBe(5001);
    expect(await ids()).toEqual(['aged', 'recent']);
    expect(await cron.prune()).toBe(0);
  });
});
