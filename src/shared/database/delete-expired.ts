import type { EntityManager } from 'typeorm';

/** A table whose rows expire by a timestamp column, and the columns that identify a row. */
export interface ExpiringTable {
  table: string;
  /** The key column, or a list of them: `id`, `provider, delivery_id`. */
  key: string;
  /** The timestamp a row expires by (default `received_at`). */
  at?: string;
}

/**
 * Deletes up to `limit` rows whose timestamp is more than `olderThanSeconds` ago, the oldest first,
 * and returns how many. A short statement that locks only its own rows; rows another replica is
 * deleting at the same moment are skipped (`SKIP LOCKED`), not waited for. With
 * `pruneUntilCaughtUp`, the retention jobs' one delete. Table and column names come from code,
 * never from input.
 */
export async function deleteExpired(
  q: Pick<EntityManager, 'query'>,
  { table, key, at = 'received_at' }: ExpiringTable,
  olderThanSeconds: number,
  limit: number,
): Promise<number> {
  const [row] = (await q.query(
    `WITH gone AS (
       DELETE FROM ${table}
        WHERE (${key}) IN (
          SELECT ${key} FROM ${table}
           WHERE ${at} < now() - make_interval(secs => $1::double precision)
           ORDER BY ${at}
           LIMIT $2
           FOR UPDATE SKIP LOCKED)
       RETURNING 1)
     SELECT count(*)::int AS n FROM gone`,
    [olderThanSeconds, limit],
  )) as { n: number }[];
  return Number(row.n);
}
