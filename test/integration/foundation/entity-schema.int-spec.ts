import { useTestApp } from '../../support/test-app';

/**
 * Entities never drive the schema (no `synchronize`); migrations do. This keeps them honest: every
 * entity column exists in the migrated database with the same nullability and a matching type.
 */
const TYPE_ALIASES: Record<string, string[]> = {
  uuid: ['uuid'],
  text: ['text'],
  bigint: ['bigint'],
  integer: ['integer'],
  int: ['integer'],
  smallint: ['smallint'],
  boolean: ['boolean'],
  jsonb: ['jsonb'],
  'double precision': ['double precision'],
  numeric: ['numeric'],
  date: ['date'],
  timestamptz: ['timestamp with time zone'],
  'timestamp with time zone': ['timestamp with time zone'],
};

describe('entities match the migrated schema', () => {
  const t = useTestApp();

  it('has every entity column, with its type and nullability', async () => {
    const problems: string[] = [];
    expect(t.dataSource.entityMetadatas.length).toBeGreaterThan(0);
    for (const meta of t.dataSource.entityMetadatas) {
      const cols = (await t.dataSource.query(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1`,
        [meta.tableName],
      )) as { column_name: string; data_type: string; is_nullable: 'YES' | 'NO' }[];
      const byName = new Map(cols.map((c) => [c.column_name, c]));
      if (cols.length === 0) problems.push(`${meta.tableName}: table missing`);
      for (const col of meta.columns) {
        const db = byName.get(col.databaseName);
        const where = `${meta.tableName}.${col.databaseName}`;
        if (!db) {
          problems.push(`${where}: column missing`);
          continue;
        }
        const type = typeof col.type === 'string' ? col.type : (col.type as { name: string }).name.toLowerCase();
        const expected = col.isArray ? ['ARRAY'] : (TYPE_ALIASES[type] ?? [type]);
        if (!expected.includes(db.data_type)) problems.push(`${where}: entity ${type}, database ${db.data_type}`);
        const dbNullable = db.is_nullable === 'YES';
        if (col.isNullable !== dbNullable)
          problems.push(`${where}: entity nullable=${col.isNullable}, database ${dbNullable}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
