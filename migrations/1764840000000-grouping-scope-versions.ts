import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A version per grouping scope (source, feature), so that a replica can keep a scope's live groups
 * in memory and know when they changed. A trigger on `grouping_groups` gives the scope a new value
 * from a sequence on every row written (insert, update, delete) by whoever writes it (a new
 * fingerprint, a merge, a fingerprint upgrade, another replica), and a TRUNCATE forgets every
 * version. Sequence values are never handed out twice, rolled back or not, and the sequence is not
 * owned by a column (`TRUNCATE ... RESTART IDENTITY` leaves it alone): a version a replica cached
 * matches the table only while nothing in the scope has been written since.
 */
export class GroupingScopeVersions1764840000000 implements MigrationInterface {
  name = 'GroupingScopeVersions1764840000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE grouping_scope_version_seq`);
    await q.query(`
      CREATE TABLE grouping_scope_versions (
        scope_source text NOT NULL,
        scope_feature text NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (scope_source, scope_feature)
      )`);
    await q.query(`
      CREATE FUNCTION fixloop_grouping_scope_touched() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'INSERT' THEN
          INSERT INTO grouping_scope_versions (scope_source, scope_feature, version)
          VALUES (OLD.scope_source, OLD.scope_feature, nextval('grouping_scope_version_seq'))
          ON CONFLICT (scope_source, scope_feature) DO UPDATE SET version = EXCLUDED.version;
        END IF;
        IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (NEW.scope_source, NEW.scope_feature)
                                 IS DISTINCT FROM (OLD.scope_source, OLD.scope_feature)) THEN
          INSERT INTO grouping_scope_versions (scope_source, scope_feature, version)
          VALUES (NEW.scope_source, NEW.scope_feature, nextval('grouping_scope_version_seq'))
          ON CONFLICT (scope_source, scope_feature) DO UPDATE SET version = EXCLUDED.version;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER grouping_groups_scope_version AFTER INSERT OR UPDATE OR DELETE ON grouping_groups
      FOR EACH ROW EXECUTE FUNCTION fixloop_grouping_scope_touched()`);
    await q.query(`
      CREATE FUNCTION fixloop_grouping_scopes_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        DELETE FROM grouping_scope_versions;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER grouping_groups_truncated AFTER TRUNCATE ON grouping_groups
      FOR EACH STATEMENT EXECUTE FUNCTION fixloop_grouping_scopes_truncated()`);
    await q.query(`
      INSERT INTO grouping_scope_versions (scope_source, scope_feature, version)
      SELECT scope_source, scope_feature, nextval('grouping_scope_version_seq')
        FROM (SELECT DISTINCT scope_source, scope_feature FROM grouping_groups) scopes`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS grouping_groups_truncated ON grouping_groups`);
    await q.query(`DROP TRIGGER IF EXISTS grouping_groups_scope_version ON grouping_groups`);
    await q.query(`DROP FUNCTION IF EXISTS fixloop_grouping_scopes_truncated()`);
    await q.query(`DROP FUNCTION IF EXISTS fixloop_grouping_scope_touched()`);
    await q.query(`DROP TABLE IF EXISTS grouping_scope_versions`);
    await q.query(`DROP SEQUENCE IF EXISTS grouping_scope_version_seq`);
  }
}
