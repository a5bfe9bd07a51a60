/**
 * pgvector is optional. These statements add the embedding columns only where the `vector`
 * extension can be created; elsewhere similarity features stay off and /health says so.
 * They are idempotent, so the start-up check can re-run them when the extension appears later.
 */
export type RunSql = (sql: string) => Promise<unknown>;

export async function tryEnableVector(run: RunSql): Promise<boolean> {
  const available = (await run(`SELECT 1 AS ok FROM pg_available_extensions WHERE name = 'vector'`)) as unknown[];
  if (available.length === 0) return false;
  await run('SAVEPOINT fixloop_vector');
  try {
    await run('CREATE EXTENSION IF NOT EXISTS vector');
    await run('RELEASE SAVEPOINT fixloop_vector');
    return true;
  } catch {
    await run('ROLLBACK TO SAVEPOINT fixloop_vector');
    return false;
  }
}

/** Untyped `vector` columns: the dimension belongs to the embedding model, recorded beside it. */
export async function addVectorColumns(run: RunSql): Promise<void> {
  await run('ALTER TABLE issues ADD COLUMN IF NOT EXISTS embedding vector');
  await run('ALTER TABLE issue_prs ADD COLUMN IF NOT EXISTS embedding vector');
}

export async function hasVectorColumns(run: RunSql): Promise<boolean> {
  const rows = (await run(
    `SELECT 1 FROM information_schema.columns WHERE table_name = 'issues' AND column_name = 'embedding'`,
  )) as unknown[];
  return rows.length > 0;
}
