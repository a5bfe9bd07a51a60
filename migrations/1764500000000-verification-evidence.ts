import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fix verification: what the Loki check found (counted incrementally, while fixloop's own events
 * are recounted from error_events on every check), the evidence of the recurrence that failed a
 * fix, and the indexes the checks need (events by fingerprint and time, windows by deployment).
 */
export class VerificationEvidence1764500000000 implements MigrationInterface {
  name = 'VerificationEvidence1764500000000';

  async up(q: QueryRunner): Promise<void> {
    const run = (sql: string): Promise<unknown> => q.query(sql);
    await run(`ALTER TABLE verification_windows ADD COLUMN loki_recurrence_count integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE verification_windows ADD COLUMN loki_old_build_count integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE verification_windows ADD COLUMN loki_checked_at timestamptz`);
    await run(`ALTER TABLE verification_windows ADD COLUMN loki_last_error text`);
    await run(`ALTER TABLE verification_windows ADD COLUMN recurrence_evidence jsonb`);
    await run(
      `CREATE INDEX verification_windows_issue_deployment_idx ON verification_windows (issue_id, deployment_id)`,
    );
    await run(`CREATE INDEX error_events_fingerprint_occurred_idx ON error_events (fingerprint, occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS error_events_fingerprint_occurred_idx`);
    await q.query(`DROP INDEX IF EXISTS verification_windows_issue_deployment_idx`);
    for (const c of [
      'recurrence_evidence',
      'loki_last_error',
      'loki_checked_at',
      'loki_old_build_count',
      'loki_recurrence_count',
    ]) {
      await q.query(`ALTER TABLE verification_windows DROP COLUMN IF EXISTS ${c}`);
    }
  }
}
