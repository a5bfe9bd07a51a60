import { OutboxRetentionCron } from '../../../src/shared/events/outbox-retention.cron';
import { adminAuth, useTestApp } from '../../support/test-app';

describe('outbox events are kept OUTBOX_RETENTION_DAYS, then deleted', () => {
  const t = useTestApp({ OUTBOX_RETENTION_DAYS: '10' }, { truncateEachTest: true });
  let cron: OutboxRetentionCron;

  beforeAll(() => {
    cron = t.app.get(OutboxRetentionCron);
  });

  const names = async (): Promise<string[]> =>
    (
      (await t.dataSource.query(`SELECT event_name FROM outbox_events ORDER BY id`)) as {
        event_name: string;
      }[]
    ).map((r) => r.event_name);

  it('deletes the rows written more than the retention ago, delivered or not, and keeps the newer', async () => {
    // Two real rows, written by the kill switch's admin route; one is then aged past the retention.
    for (const enabled of [true, false])
      await t.http
        .put('/api/spawn/kill-switch')
        .set(adminAuth)
        .send({ enabled, by: 'ops', reason: 'drill' })
        .expect(200);
    expect(await names()).toEqual(['kill_switch.changed', 'kill_switch.changed']);
    await t.dataSource.query(
      `UPDATE outbox_events SET created_at = now() - interval '11 days' WHERE id = (SELECT min(id) FROM outbox_events)`,
    );
    // Aged rows a notifier would have delivered, and one it would not have: both go.
    await t.dataSource.query(
      `INSERT INTO outbox_events (event_name, payload, created_at, processed_at)
       VALUES ('fix.verified', '{}', now() - interval '12 days', now() - interval '12 days'),
              ('fix.failed', '{}', now() - interval '30 days', NULL),
              ('fix.verified', '{}', now() - interval '9 days', NULL)`,
    );

    expect(await cron.prune()).toBe(3);
    expect(await names()).toEqual(['kill_switch.changed', 'fix.verified']);
    const kept = (await t.dataSource.query(`SELECT payload FROM outbox_events ORDER BY id LIMIT 1`)) as {
      payload: Record<string, unknown>;
    }[];
    expect(kept[0]!.payload).toMatchObject({ enabled: false });
    expect(await cron.prune()).toBe(0);
  });

  it('deletes a backlog larger than a batch until caught up; replicas pruning at once delete each row once', async () => {
    await t.dataSource.query(
      `INSERT INTO outbox_events (event_name, payload, created_at)
       SELECT 'spawn_budget.changed', jsonb_build_object('n', g), now() - interval '10 days 1 hour' - g * interval '1 second'
         FROM generate_series(1, 12001) AS g`,
    );
    await t.dataSource.query(
      `INSERT INTO outbox_events (event_name, payload, created_at) VALUES ('fix.failed', '{}', now() - interval '1 day')`,
    );

    const deleted = await Promise.all([cron.prune(), cron.prune()]);
    expect(deleted[0] + deleted[1]).toBe(12001);
    expect(await names()).toEqual(['fix.failed']);
  });
});
