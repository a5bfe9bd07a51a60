/**
 * The recursive CTEs that follow `issues.merged_into_id` (an issue merged into another points at
 * it; merges chain: A into B, B into C), written once for every query that needs them:
 * - `absorbedCte`, walking down: the issues merged into a root at any depth (A and B for C);
 * - `survivorsCte`, walking up: the issues a root was merged into, along its chain, the live
 *   survivor last (B and C for A).
 *
 * Each returns one CTE, `name(id, merged_into_id, ...) AS (...)`, to follow `WITH RECURSIVE` (first
 * or among other CTEs). Every row is an `issues` row: `id`, `merged_into_id`, the extra `columns`
 * asked for and, with `maxDepth`, `depth` (the number of merges from the root, which is 0).
 *
 * `root` is an SQL expression of type uuid: a parameter (`$1`, cast as `$1::uuid` where nothing
 * else gives it a type) or a column of the outer query (`i.id`, in a correlated subquery or a
 * LATERAL join). With `includeRoot` the root's own row comes first; an id that names no issue has
 * none, so it yields no rows at all. The CTE's own aliases (`mc_*`) never hide the outer query's.
 *
 * Merges never form a cycle (a merge's target must be live), but a cycle in corrupt data still
 * ends: rows are combined with UNION, so a row met again is not followed again, and `maxDepth`
 * bounds the walk by itself (its rows differ by depth).
 *
 * Names, columns and roots come from code, never from input.
 *
 * Why in the shared kernel, which knows no module: the spawn, issues, verification and dedup
 * repositories each need the chain inside one of their own statements (a lock, an UPDATE, a
 * correlated subquery), where a call to the issues module's facade cannot go. This is SQL text
 * over the `issues` table's two columns, nothing more.
 */
export interface MergeChainOptions {
  /** The root's own row is in the CTE too (default: only the issues reached from it). */
  includeRoot?: boolean;
  /** More columns of `issues` carried on every row (e.g. `identifier`). */
  columns?: readonly string[];
  /** Adds a `depth` column and follows at most this many merges from the root. */
  maxDepth?: number;
}

/** The issues merged into `root`, directly or along a chain (A into B, B into C: A and B for C). */
export function absorbedCte(name: string, root: string, options: MergeChainOptions = {}): string {
  return mergeChainCte(name, root, 'down', options);
}

/**
 * The issues `root` was merged into, along its chain (A into B, B into C: B and C for A); the one
 * whose `merged_into_id` is null is the live survivor.
 */
export function survivorsCte(name: string, root: string, options: MergeChainOptions = {}): string {
  return mergeChainCte(name, root, 'up', options);
}

function mergeChainCte(
  name: string,
  root: string,
  direction: 'down' | 'up',
  { includeRoot = false, columns = [], maxDepth }: MergeChainOptions,
): string {
  const bounded = maxDepth !== undefined;
  if (bounded && !(Number.isInteger(maxDepth) && maxDepth >= 0)) throw new Error(`maxDepth ${maxDepth} is no count`);
  const names = ['id', 'merged_into_id', ...columns, ...(bounded ? ['depth'] : [])];
  const select = (depth: string) =>
    ['id', 'merged_into_id', ...columns].map((c) => `mc_issue.${c}`).join(', ') + (bounded ? `, ${depth}` : '');
  // The row after `mc_prev`: one merged into it (down) or the one it was merged into (up).
  const next = direction === 'down' ? 'mc_issue.merged_into_id = mc_prev.id' : 'mc_issue.id = mc_prev.merged_into_id';
  const start = includeRoot
    ? `mc_issue.id = ${root}`
    : direction === 'down'
      ? `mc_issue.merged_into_id = ${root}`
      : `mc_issue.id = (SELECT mc_root.merged_into_id FROM issues mc_root WHERE mc_root.id = ${root})`;
  return `${name}(${names.join(', ')}) AS (
    SELECT ${select(includeRoot ? '0' : '1')} FROM issues mc_issue WHERE ${start}
    UNION
    SELECT ${select('mc_prev.depth + 1')} FROM issues mc_issue JOIN ${name} mc_prev ON ${next}${
      bounded ? `\n     WHERE mc_prev.depth < ${maxDepth}` : ''
    })`;
}
