import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Retention of outbox_events (OUTBOX_RETENTION_DAYS): nothing consumes the outbox yet, so it grew
 * for ever; rows are now deleted in batches, oldest first, by the time they were written, which
 * needs an index on it (the pending index covers only rows not processed, by available_at).
 */
export class OutboxRetentionIndex1764820000000 implements MigrationInterface {
  name = 'OutboxRetentionIndex1764820000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX outbox_events_created_idx ON outbox_events (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS outbox_events_created_idx`);
  }
}
