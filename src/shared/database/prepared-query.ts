import { hash } from 'node:crypto';
import { EntityManager, QueryFailedError } from 'typeorm';

/** The part of node-postgres' client this helper uses (PGlite's node-postgres adapter has it too). */
interface PreparingClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs `text` as a named prepared statement on the manager's connection (its transaction's, or one
 * taken from the pool for this statement): the first run on a connection parses it, every later
 * run sends only the parameters, and PostgreSQL may keep one plan for it. For the few statements
 * that run for every request. The name is `prefix` plus a hash of the text, so two texts never
 * share a name. Errors are TypeORM's `QueryFailedError`, as from `manager.query`.
 */
export async function queryPrepared<T>(
  manager: EntityManager,
  prefix: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const name = `${prefix}_${statementHash(text)}`;
  const runner = manager.queryRunner ?? manager.connection.createQueryRunner();
  try {
    const client = (await runner.connect()) as PreparingClient;
    try {
      return (await client.query({ name, text, values })).rows as T[];
    } catch (err) {
      throw new QueryFailedError(text, values, err as Error);
    }
  } finally {
    if (manager.queryRunner === undefined) await runner.release();
  }
}

const hashes = new Map<string, string>();

function statementHash(text: string): string {
  let digest = hashes.get(text);
  if (digest === undefined) {
    digest = hash('sha256', text).slice(0, 16);
    hashes.set(text, digest);
  }
  return digest;
}
