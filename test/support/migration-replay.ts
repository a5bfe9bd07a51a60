import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Runs `migration` again on data as the release before it left it: reverts it, lets `before`
 * write what that release would have written, and applies it once more, on one connection.
 */
export async function replayMigration(
  ds: DataSource,
  migration: MigrationInterface,
  before: (runner: QueryRunner) => Promise<unknown> = async () => undefined,
): Promise<void> {
  const runner = ds.createQueryRunner();
  try {
    await migration.down(runner);
    await before(runner);
    await migration.up(runner);
  } finally {
    await runner.release();
  }
}
