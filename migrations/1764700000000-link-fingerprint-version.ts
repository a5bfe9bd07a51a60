import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The FINGERPRINT_VERSION that made each fingerprint link (NULL: written by a release that did not
 * record it, such as a replica of the previous release still running during a rolling deploy).
 * Every replica re-fingerprints the samples of links behind its own version
 * (FingerprintUpgradeService), so links an older replica writes after an upgrade are not left
 * under fingerprints the new release no longer gives. Existing links get the version recorded in
 * `runtime_settings` (the version every link had been brought to), or 1 where none was recorded.
 */
export class LinkFingerprintVersion1764700000000 implements MigrationInterface {
  name = 'LinkFingerprintVersion1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE external_issue_links ADD COLUMN fingerprint_version integer`);
    await q.query(
      `UPDATE external_issue_links
          SET fingerprint_version = COALESCE(
                (SELECT (value #>> '{}')::int FROM runtime_settings WHERE key = 'dedup.fingerprint_version'), 1)
        WHERE source = 'loki'`,
    );
    await q.query(
      `CREATE INDEX external_issue_links_fingerprint_version_idx ON external_issue_links (fingerprint_version)
        WHERE source = 'loki'`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS external_issue_links_fingerprint_version_idx`);
    await q.query(`ALTER TABLE external_issue_links DROP COLUMN IF EXISTS fingerprint_version`);
  }
}
