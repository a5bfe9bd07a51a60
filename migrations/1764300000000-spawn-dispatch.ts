import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The spawn gate's dispatch bookkeeping.
 *
 * - Every attempt of one issue's workflow runs under the same GitHub run name (`fixloop <IDENTIFIER>`,
 *   the workflow's `run-name`), so the run name cannot be unique on its own any more: attempt 2 after a
 *   failed fix reuses it. Uniqueness moves to (issue_id, attempt): one row per investigation attempt.
 * - `claimed_at`: when the gate committed the attempt (budget counted, state 'dispatching'), before
 *   GitHub was called. The reconciler looks for the run by name from this time on.
 * - `lease_until`: while a dispatcher is talking to GitHub it holds the row by this lease; a
 *   'dispatching' row whose lease ran out belongs to a process that died and is reconciled.
 * - `bypass_cooldown`: a retry after a failed fix (or an admin's explicit choice) skips the
 *   per-fingerprint cooldown; every other gate control still applies.
 * - `refunded_at`: when a dispatch GitHub refused (4xx) gave its budget back.
 */
export class SpawnDispatch1764300000000 implements MigrationInterface {
  name = 'SpawnDispatch1764300000000';

  async up(q: QueryRunner): Promise<void> {
    const run = (sql: string): Promise<unknown> => q.query(sql);
    await run(`ALTER TABLE spawn_requests ADD COLUMN claimed_at timestamptz`);
    await run(`ALTER TABLE spawn_requests ADD COLUMN lease_until timestamptz`);
    await run(`ALTER TABLE spawn_requests ADD COLUMN bypass_cooldown boolean NOT NULL DEFAULT false`);
    await run(`ALTER TABLE spawn_requests ADD COLUMN refunded_at timestamptz`);
    await run(`DROP INDEX IF EXISTS spawn_requests_run_name_key`);
    await run(`CREATE UNIQUE INDEX spawn_requests_issue_attempt_key ON spawn_requests (issue_id, attempt)`);
    await run(`CREATE INDEX spawn_requests_run_name_idx ON spawn_requests (run_name) WHERE run_name IS NOT NULL`);
    await run(`CREATE INDEX spawn_requests_run_id_idx ON spawn_requests (run_id) WHERE run_id IS NOT NULL`);
    await run(`
      CREATE INDEX spawn_requests_active_idx ON spawn_requests (state)
      WHERE state IN ('dispatching','dispatched','running')`);
    await run(`CREATE INDEX spawn_requests_issue_idx ON spawn_requests (issue_id, created_at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const idx of [
      'spawn_requests_issue_idx',
      'spawn_requests_active_idx',
      'spawn_requests_run_id_idx',
      'spawn_requests_run_name_idx',
      'spawn_requests_issue_attempt_key',
    ]) {
      await q.query(`DROP INDEX IF EXISTS ${idx}`);
    }
    await q.query(
      `CREATE UNIQUE INDEX spawn_requests_run_name_key ON spawn_requests (run_name) WHERE run_name IS NOT NULL`,
    );
    for (const c of ['refunded_at', 'bypass_cooldown', 'lease_until', 'claimed_at']) {
      await q.query(`ALTER TABLE spawn_requests DROP COLUMN IF EXISTS ${c}`);
    }
  }
}
