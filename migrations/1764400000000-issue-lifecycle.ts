import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The issue lifecycle after a PR appears: every PR matching run with the evidence of its three
 * steps (identifier, semantic, LLM judge), when a linked PR was closed, deployed or reverted, and
 * the processing state of deployments (compare calls to GitHub can fail and are retried).
 */
export class IssueLifecycle1764400000000 implements MigrationInterface {
  name = 'IssueLifecycle1764400000000';

  async up(q: QueryRunner): Promise<void> {
    const run = (sql: string): Promise<unknown> => q.query(sql);

    // One row per matching run of a PR, linked or not: what each step saw and decided.
    await run(`
      CREATE TABLE pr_match_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        repo_owner text NOT NULL,
        repo_name text NOT NULL,
        pr_number integer NOT NULL,
        text_hash text NOT NULL,
        trigger text NOT NULL,
        delivery_id text,
        outcome text NOT NULL,
        linked_issue_ids uuid[] NOT NULL DEFAULT '{}',
        steps jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pr_match_runs_outcome_check CHECK (outcome IN ('linked','unmatched','revert'))
      )`);
    await run(`CREATE INDEX pr_match_runs_pr_idx ON pr_match_runs (repo_owner, repo_name, pr_number, created_at DESC)`);

    await run(`ALTER TABLE issue_prs ADD COLUMN closed_at timestamptz`);
    await run(`ALTER TABLE issue_prs ADD COLUMN deployed_at timestamptz`);
    await run(`ALTER TABLE issue_prs ADD COLUMN deployment_id uuid REFERENCES deployments(id)`);
    await run(`ALTER TABLE issue_prs ADD COLUMN reverted_by_pr integer`);
    await run(
      `CREATE INDEX issue_prs_undeployed_idx ON issue_prs (merged_at) WHERE state = 'merged' AND deployed_at IS NULL`,
    );

    await run(`ALTER TABLE deployments ADD COLUMN processed_at timestamptz`);
    await run(`ALTER TABLE deployments ADD COLUMN process_attempts integer NOT NULL DEFAULT 0`);
    await run(`ALTER TABLE deployments ADD COLUMN last_error text`);
    await run(`ALTER TABLE deployments ADD COLUMN result jsonb`);
    await run(`CREATE INDEX deployments_pending_idx ON deployments (received_at) WHERE processed_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS deployments_pending_idx`);
    for (const c of ['result', 'last_error', 'process_attempts', 'processed_at']) {
      await q.query(`ALTER TABLE deployments DROP COLUMN IF EXISTS ${c}`);
    }
    await q.query(`DROP INDEX IF EXISTS issue_prs_undeployed_idx`);
    for (const c of ['reverted_by_pr', 'deployment_id', 'deployed_at', 'closed_at']) {
      await q.query(`ALTER TABLE issue_prs DROP COLUMN IF EXISTS ${c}`);
    }
    await q.query(`DROP TABLE IF EXISTS pr_match_runs`);
  }
}
