import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a fingerprint's link last took a sample (the clock, and the sampled occurrence's own time)
 * and of which version: the known-fingerprint path samples a hot fingerprint once per
 * SAMPLE_INTERVAL_MS of either clock (and on every new version) instead of inserting and trimming
 * a sample row for every occurrence.
 */
export class LinkSampleThrottle1764600000000 implements MigrationInterface {
  name = 'LinkSampleThrottle1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE external_issue_links ADD COLUMN last_sampled_at timestamptz`);
    await q.query(`ALTER TABLE external_issue_links ADD COLUMN last_sampled_occurred_at timestamptz`);
    await q.query(`ALTER TABLE external_issue_links ADD COLUMN last_sampled_version text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE external_issue_links DROP COLUMN IF EXISTS last_sampled_version`);
    await q.query(`ALTER TABLE external_issue_links DROP COLUMN IF EXISTS last_sampled_occurred_at`);
    await q.query(`ALTER TABLE external_issue_links DROP COLUMN IF EXISTS last_sampled_at`);
  }
}
