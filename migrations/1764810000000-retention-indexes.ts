import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention of alert_notices (ALERT_NOTICE_RETENTION_DAYS) and webhook_deliveries
 * (GITHUB_DELIVERY_RETENTION_DAYS): both grow with traffic and are now deleted in batches, oldest
 * first, so each needs an index on the time it is deleted by (ingest_deliveries has had one).
 */
export class RetentionIndexes1764810000000 implements MigrationInterface {
  name = 'RetentionIndexes1764810000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX alert_notices_received_idx ON alert_notices (received_at)`);
    await q.query(`CREATE INDEX webhook_deliveries_received_idx ON webhook_deliveries (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS webhook_deliveries_received_idx`);
    await q.query(`DROP INDEX IF EXISTS alert_notices_received_idx`);
  }
}
