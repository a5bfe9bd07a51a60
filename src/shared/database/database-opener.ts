import { Logger } from '@nestjs/common';
import path from 'node:path';
import { DataSource, DataSourceOptions, MigrationExecutor } from 'typeorm';
import { MIGRATIONS } from '../../../migrations/migration-list';
import { DataDirLock } from './data-dir-lock';
import { DatabaseCapabilities, DatabaseKind } from './database-kind';
import { StallGuard } from './stall-guard';
import { addVectorColumns, hasVectorColumns, tryEnableVector } from './vector-schema';

export interface DatabaseSettings {
  databaseKind: DatabaseKind;
  DATABASE_URL?: string;
  DATA_DIR: string;
  DATABASE_POOL_SIZE: number;
  DATABASE_ACQUIRE_TIMEOUT_SECONDS: number;
  /** A server connection silent this long with a statement out is closed (`StallGuard`); 0: never. */
  DATABASE_STALL_TIMEOUT_SECONDS?: number;
}

/** Keys of the advisory locks fixloop takes; one place so two jobs never share a key by accident. */
export const ADVISORY_LOCKS = {
  migrations: 7_246_001,
  budgetRollover: 7_246_002,
  spawnWorker: 7_246_003,
  verificationWorker: 7_246_004,
  housekeeping: 7_246_005,
  fingerprintUpgrade: 7_246_006,
  /** With hashtext(scope) as second key: grouping decisions of one (source, feature) scope. */
  groupingScope: 7_246_020,
} as const;

interface EmbeddedHandle {
  close(): Promise<void>;
}
const embeddedHandles = new WeakMap<DataSource, EmbeddedHandle>();
const stallGuards = new WeakMap<DataSource, StallGuard>();

/**
 * Starts closing the data source's stalled server connections (`StallGuard`): called once the
 * migrations have run. Nothing for the embedded database, which has no socket.
 */
export function armStallGuard(ds: DataSource): void {
  stallGuards.get(ds)?.arm();
}

/** `DATA_DIR=memory://` keeps the embedded database in memory (tests); no folder, no lock. */
export const IN_MEMORY_DATA_DIR = 'memory://';

/**
 * Opens the system of record: PGlite under DATA_DIR when DATABASE_URL is unset, else a pooled
 * PostgreSQL server. Both go through node-postgres and TypeORM, so there is one code path.
 * PGlite serves one session: the pool has one connection, and waiting for a second one fails after
 * DATABASE_ACQUIRE_TIMEOUT_SECONDS instead of hanging.
 */
export async function createDataSource(
  settings: DatabaseSettings,
  extra: Partial<DataSourceOptions> = {},
): Promise<DataSource> {
  const acquireTimeoutMs = Math.round(settings.DATABASE_ACQUIRE_TIMEOUT_SECONDS * 1000);
  const base = {
    type: 'postgres' as const,
    synchronize: false,
    migrationsRun: false,
    installExtensions: false,
    migrations: MIGRATIONS,
    migrationsTableName: 'schema_migrations',
    ...extra,
  };
  if (settings.databaseKind === 'postgres') {
    const guard = new StallGuard(Math.round((settings.DATABASE_STALL_TIMEOUT_SECONDS ?? 0) * 1000));
    const ds = new DataSource({
      ...base,
      url: settings.DATABASE_URL,
      extra: {
        max: settings.DATABASE_POOL_SIZE,
        connectionTimeoutMillis: acquireTimeoutMs,
        idleTimeoutMillis: 30_000,
        application_name: 'fixloop',
        // idle connections a failover left half-open are found by TCP keepalive probes
        keepAlive: true,
        keepAliveInitialDelayMillis: 10_000,
        Client: guard.clientClass(),
      },
    } as DataSourceOptions);
    stallGuards.set(ds, guard);
    return ds.initialize();
  }

  const inMemory = settings.DATA_DIR === IN_MEMORY_DATA_DIR;
  const lock = inMemory ? undefined : DataDirLock.acquire(settings.DATA_DIR);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const { vector } = await import('@electric-sql/pglite-pgvector');
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    const dataDir = inMemory ? IN_MEMORY_DATA_DIR : path.resolve(settings.DATA_DIR, 'pgdata');
    const pglite = await PGlite.create(dataDir, { extensions: { vector } });
    const pgConfig = createPgConfig(pglite);
    const ds = new DataSource({
      ...base,
      host: pgConfig.host,
      port: pgConfig.port,
      username: pgConfig.user,
      password: pgConfig.password,
      database: pgConfig.database,
      extra: {
        connection: pgConfig.connection,
        max: 1,
        idleTimeoutMillis: 0,
        connectionTimeoutMillis: acquireTimeoutMs,
      },
    } as DataSourceOptions);
    await ds.initialize();
    embeddedHandles.set(ds, {
      close: async () => {
        await pglite.close();
        lock?.release();
      },
    });
    return ds;
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** Destroys the pool and, on the embedded database, closes PGlite and frees the data folder. */
export async function closeDataSource(ds: DataSource): Promise<void> {
  if (ds.isInitialized) await ds.destroy();
  const handle = embeddedHandles.get(ds);
  if (handle) {
    embeddedHandles.delete(ds);
    await handle.close();
  }
}

/**
 * Runs pending migrations, one transaction each. On a server, replicas starting together take turns
 * through an advisory lock held by the same session that runs the migrations.
 */
export async function runMigrations(ds: DataSource, kind: DatabaseKind): Promise<string[]> {
  const runner = ds.createQueryRunner();
  try {
    if (kind === 'postgres') await runner.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.migrations]);
    try {
      const executor = new MigrationExecutor(ds, runner);
      executor.transaction = 'each';
      const ran = await executor.executePendingMigrations();
      return ran.map((m) => m.name);
    } finally {
      if (kind === 'postgres') await runner.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.migrations]);
    }
  } finally {
    await runner.release();
  }
}

/**
 * Detects what the database can do. When pgvector appeared after the first migration, its columns
 * are added here (the same idempotent statements the migration runs).
 */
export async function detectCapabilities(ds: DataSource, kind: DatabaseKind): Promise<DatabaseCapabilities> {
  const [{ server_version: serverVersion }] = (await ds.query('SHOW server_version')) as {
    server_version: string;
  }[];
  const run = (sql: string): Promise<unknown> => ds.query(sql);
  let pgvector = await hasVectorColumns(run);
  if (!pgvector) {
    pgvector = await ds.transaction(async (m) => {
      const inTx = (sql: string): Promise<unknown> => m.query(sql);
      if (!(await tryEnableVector(inTx))) return false;
      await addVectorColumns(inTx);
      return true;
    });
  }
  if (!pgvector) {
    new Logger('Database').warn(
      'pgvector is not installed: embeddings and similarity search are off. ' +
        'Install pgvector on the server and run `CREATE EXTENSION vector;`, then restart fixloop.',
    );
  }
  return { kind, serverVersion, pgvector };
}
