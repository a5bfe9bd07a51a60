import { DataSource } from 'typeorm';
import { closeDataSource, createDataSource, runMigrations } from '../../../src/shared/database/database-opener';
import { loadConfig } from '../../../src/shared/config/config.loader';
import { seedIssue } from '../../factories/issue.factory';
import { testEnv, useTestApp } from '../../support/test-app';

describe('database: schema, constraints and the one-connection rule', () => {
  const t = useTestApp();

  it('runs migrations at start and finds nothing pending on a second run', async () => {
    const applied = (await t.dataSource.query('SELECT name FROM schema_migrations')) as { name: string }[];
    expect(applied.map((m) => m.name)).toContain('InitialSchema1764100000000');
    expect(await runMigrations(t.dataSource, t.config.databaseKind)).toEqual([]);
  });

  it('keeps the history append-only: UPDATE and DELETE are refused by the database', async () => {
    const { id } = await seedIssue(t.dataSource);
    await t.dataSource.query(
      `INSERT INTO issue_history (issue_id, actor, actor_type, field, to_value) VALUES ($1, 'admin', 'user', 'status', 'triage')`,
      [id],
    );
    await expect(t.dataSource.query(`UPDATE issue_history SET reason = 'x' WHERE issue_id = $1`, [id])).rejects.toThrow(
      /append-only/,
    );
    await expect(t.dataSource.query(`DELETE FROM issue_history WHERE issue_id = $1`, [id])).rejects.toThrow(
      /append-only/,
    );
  });

  it('makes a second active spawn request for one issue impossible', async () => {
    const { id } = await seedIssue(t.dataSource);
    const insert = `INSERT INTO spawn_requests (issue_id, not_before, requested_by) VALUES ($1, now(), 'test')`;
    await t.dataSource.query(insert, [id]);
    await expect(t.dataSource.query(insert, [id])).rejects.toThrow(/spawn_requests_one_active_per_issue/);
  });

  it('makes a second fingerprint link with the same (source, external_id) impossible', async () => {
    const { id } = await seedIssue(t.dataSource);
    const insert = `INSERT INTO external_issue_links (source, external_id, issue_id, original_issue_id) VALUES ('loki', 'fp-1', $1, $1)`;
    await t.dataSource.query(insert, [id]);
    await expect(t.dataSource.query(insert, [id])).rejects.toThrow(/external_issue_links_source_external_id_key/);
  });

  it('rejects a status or priority outside the model', async () => {
    await expect(seedIssue(t.dataSource, { status: 'done' })).rejects.toThrow(/issues_status_check/);
    await expect(seedIssue(t.dataSource, { priority: 5 })).rejects.toThrow(/issues_priority_check/);
  });
});

describe('database: a transaction never waits for a second connection', () => {
  let ds: DataSource;

  beforeAll(async () => {
    const config = loadConfig(testEnv({ DATABASE_POOL_SIZE: '1', DATABASE_ACQUIRE_TIMEOUT_SECONDS: '0.5' }));
    ds = await createDataSource(config);
    await runMigrations(ds, config.databaseKind);
  });
  afterAll(async () => {
    await closeDataSource(ds);
  });

  it('fails (does not hang) when code inside a transaction asks the pool for another connection', async () => {
    const outcome = ds.transaction(async (manager) => {
      await manager.query('SELECT 1');
      await ds.query('SELECT 2'); // the mistake: not through `manager`
    });
    await expect(outcome).rejects.toThrow(/timeout/i);
    // and the pool recovers afterwards
    await expect(ds.query('SELECT 3 AS n')).resolves.toEqual([{ n: 3 }]);
  });
});
