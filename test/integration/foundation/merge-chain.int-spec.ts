import { randomUUID } from 'node:crypto';
import { DataSource, QueryRunner } from 'typeorm';
import { loadConfig } from '../../../src/shared/config/config.loader';
import { closeDataSource, createDataSource, runMigrations } from '../../../src/shared/database/database-opener';
import { absorbedCte, survivorsCte } from '../../../src/shared/database/merge-chain.sql';
import { testEnv } from '../../support/test-app';

/**
 * The merge-chain CTEs on the real `issues` table, inside a transaction rolled back at the end:
 *
 *   A ─▶ B ─▶ C      A merged into B, B into C (a chain);
 *   D ─▶ B           D into B too (a fork: B absorbed A and D);
 *   E ─▶ C           E into C directly;
 *   F                live, alone;
 *   G ─▶ H ─▶ G      a cycle, which only corrupt data could hold.
 */
describe('merge-chain CTEs', () => {
  let ds: DataSource;
  let q: QueryRunner;
  const names = ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'] as const;
  type Name = (typeof names)[number];
  const id = Object.fromEntries(names.map((n) => [n, randomUUID()])) as Record<Name, string>;
  const nameOf = (issueId: string) => names.find((n) => id[n] === issueId) ?? issueId;

  beforeAll(async () => {
    const config = loadConfig(testEnv());
    ds = await createDataSource(config);
    await runMigrations(ds, config.databaseKind);
    q = ds.createQueryRunner();
    await q.startTransaction();
    for (const n of names) {
      await q.query(
        `INSERT INTO issues (id, number, identifier, title, source, feature, normalized_message, first_seen_at, last_seen_at)
         VALUES ($1, nextval('issue_number_seq'), $2, $2, 'merge-chain', 'test', $2, now(), now())`,
        [id[n], `MC-${n}-${id[n].slice(0, 8)}`],
      );
    }
    const merge = (from: Name, into: Name) =>
      q.query(`UPDATE issues SET merged_into_id = $2 WHERE id = $1`, [id[from], id[into]]);
    await merge('A', 'B');
    await merge('B', 'C');
    await merge('D', 'B');
    await merge('E', 'C');
    await merge('G', 'H');
    await merge('H', 'G');
  });
  afterAll(async () => {
    await q.rollbackTransaction();
    await q.release();
    await closeDataSource(ds);
  });

  async function down(root: Name | string, includeRoot = false): Promise<string[]> {
    const rows = (await q.query(
      `WITH RECURSIVE ${absorbedCte('absorbed', '$1::uuid', { includeRoot })} SELECT id FROM absorbed`,
      [id[root as Name] ?? root],
    )) as { id: string }[];
    return rows.map((r) => nameOf(r.id)).sort();
  }

  async function up(root: Name | string, includeRoot = false): Promise<{ name: string; depth: number }[]> {
    const rows = (await q.query(
      `WITH RECURSIVE ${survivorsCte('chain', '$1::uuid', { includeRoot, maxDepth: 64 })}
       SELECT id, depth FROM chain ORDER BY depth`,
      [id[root as Name] ?? root],
    )) as { id: string; depth: number }[];
    return rows.map((r) => ({ name: nameOf(r.id), depth: Number(r.depth) }));
  }

  it('walks down: the issues merged into the root at any depth, through chains and forks', async () => {
    expect(await down('C')).toEqual(['A', 'B', 'D', 'E']);
    expect(await down('B')).toEqual(['A', 'D']);
    expect(await down('A')).toEqual([]);
    expect(await down('F')).toEqual([]);
  });

  it('walks down with the root included', async () => {
    expect(await down('C', true)).toEqual(['A', 'B', 'C', 'D', 'E']);
    expect(await down('B', true)).toEqual(['A', 'B', 'D']);
    expect(await down('F', true)).toEqual(['F']);
    expect(await down(randomUUID(), true)).toEqual([]);
  });

  it('walks up: the issues the root was merged into, the live survivor last', async () => {
    expect(await up('A')).toEqual([
      { name: 'B', depth: 1 },
      { name: 'C', depth: 2 },
    ]);
    expect(await up('D')).toEqual([
      { name: 'B', depth: 1 },
      { name: 'C', depth: 2 },
    ]);
    expect(await up('E')).toEqual([{ name: 'C', depth: 1 }]);
    expect(await up('C')).toEqual([]);
    expect(await up(randomUUID())).toEqual([]);
  });

  it('walks up with the root included', async () => {
    expect(await up('A', true)).toEqual([
      { name: 'A', depth: 0 },
      { name: 'B', depth: 1 },
      { name: 'C', depth: 2 },
    ]);
    expect(await up('F', true)).toEqual([{ name: 'F', depth: 0 }]);
    expect(await up(randomUUID(), true)).toEqual([]);
  });

  it('ends on a cycle: UNION stops a walk without a depth, maxDepth one with it', async () => {
    expect(await down('G')).toEqual(['G', 'H']);
    expect(await down('G', true)).toEqual(['G', 'H']);
    const unbounded = (await q.query(
      `WITH RECURSIVE ${survivorsCte('chain', '$1::uuid', { includeRoot: true })} SELECT id FROM chain`,
      [id.G],
    )) as { id: string }[];
    expect(unbounded.map((r) => nameOf(r.id)).sort()).toEqual(['G', 'H']);
    const bounded = await up('G', true);
    expect(bounded).toHaveLength(65);
    expect(bounded.at(-1)).toEqual({ name: 'G', depth: 64 });
  });

  it('takes a column of the outer query as its root, and carries extra columns', async () => {
    const rows = (await q.query(
      `SELECT i.id,
              ARRAY(WITH RECURSIVE ${absorbedCte('absorbed', 'i.id', { columns: ['identifier'] })}
                    SELECT identifier FROM absorbed ORDER BY identifier) AS absorbed,
              (WITH RECURSIVE ${survivorsCte('chain', 'i.id', { includeRoot: true })}
                 SELECT id FROM chain WHERE merged_into_id IS NULL) AS survivor
         FROM issues i WHERE i.id = ANY($1::uuid[])`,
      [[id.B, id.D]],
    )) as { id: string; absorbed: string[]; survivor: string }[];
    const byName = Object.fromEntries(rows.map((r) => [nameOf(r.id), r]));
    expect(byName.B.absorbed.map((x) => x.split('-')[1])).toEqual(['A', 'D']);
    expect(nameOf(byName.B.survivor)).toBe('C');
    expect(byName.D.absorbed).toEqual([]);
    expect(nameOf(byName.D.survivor)).toBe('C');
  });

  it('refuses a maxDepth that is not a count', () => {
    expect(() => survivorsCte('chain', '$1', { maxDepth: 1.5 })).toThrow(/maxDepth/);
  });
});
