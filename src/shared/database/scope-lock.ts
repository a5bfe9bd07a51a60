import type { EntityManager } from 'typeorm';
import { ADVISORY_LOCKS } from './database-opener';

/** A grouping scope: the (source, feature) pair a fingerprint is filed under. */
export interface GroupingScope {
  source: string;
  feature: string;
}

/**
 * Takes the advisory locks of grouping scopes until the transaction ends, in one fixed order (so
 * two transactions taking several never deadlock on them).
 * - `exclusive`: what changes which fingerprints an issue holds in the scope: filing a new
 *   fingerprint, a merge and its undo (dedup).
 * - `shared`: what must read that consistently without changing it: a verification window's check
 *   (an undo taking a fingerprint back from the window's issue is either wholly before the check or
 *   wholly after it). Shared holders do not wait for each other.
 */
export async function lockScopes(
  manager: EntityManager,
  scopes: readonly GroupingScope[],
  mode: 'exclusive' | 'shared',
): Promise<void> {
  const keys = [...new Set(scopes.map((s) => JSON.stringify([s.source, s.feature])))].sort();
  const lock = mode === 'exclusive' ? 'pg_advisory_xact_lock' : 'pg_advisory_xact_lock_shared';
  for (const key of keys) {
    await manager.query(`SELECT ${lock}($1::int, hashtext($2)::int)`, [ADVISORY_LOCKS.groupingScope, key]);
  }
}
