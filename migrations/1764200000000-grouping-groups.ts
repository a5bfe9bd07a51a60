import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Persistent state of the grouping engine (src/modules/dedup/grouping): one row per group of a
 * (source, feature) scope. `key` is the fingerprint of the group's first template, which is also
 * the external id of the primary link; `seq` orders groups within the scope (the oldest
 * survives a merge); `pattern` is the first template's tokens with null where evidence showed a
 * variable; `merged_into` points at the surviving group's key; `evidence` lists the merges the group
 * survived. Decisions on one scope are serialised by a transaction-level advisory lock.
 */
export class GroupingGroups1764200000000 implements MigrationInterface {
  name = 'GroupingGroups1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE grouping_groups (
        scope_source text NOT NULL,
        scope_feature text NOT NULL,
        key text NOT NULL,
        seq integer NOT NULL,
        token_count integer NOT NULL,
        pattern jsonb NOT NULL,
        merged_into text,
        evidence jsonb NOT NULL DEFAULT '[]'::jsonb,
        issue_id uuid REFERENCES issues(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope_source, scope_feature, key),
        CONSTRAINT grouping_groups_scope_seq_key UNIQUE (scope_source, scope_feature, seq),
        CONSTRAINT grouping_groups_not_merged_into_self CHECK (merged_into IS NULL OR merged_into <> key),
        CONSTRAINT grouping_groups_token_count_check CHECK (token_count >= 1)
      )`);
    await q.query(
      `CREATE INDEX grouping_groups_live_idx ON grouping_groups (scope_source, scope_feature, token_count)
       WHERE merged_into IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS grouping_groups');
  }
}
