import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { DataSource } from 'typeorm';
import { createApp } from '../../src/app.factory';
import { AppConfig } from '../../src/shared/config/config';
import { loadConfig } from '../../src/shared/config/config.loader';
import { IN_MEMORY_DATA_DIR } from '../../src/shared/database/database-opener';
import { JsonLogger } from '../../src/shared/logging/json-logger';
import { RUN_DATABASE_ENV } from '../setup/test-database';

export const TEST_KEYS = {
  ADMIN_API_KEY: 'test-admin-key-0123456789',
  AGENT_API_KEY: 'test-agent-key-0123456789',
  LOKI_WEBHOOK_SECRET: 'test-loki-secret-0123',
  GITHUB_WEBHOOK_SECRET: 'test-github-secret-0123',
};

export const adminAuth = { Authorization: `Bearer ${TEST_KEYS.ADMIN_API_KEY}` };
export const agentAuth = { Authorization: `Bearer ${TEST_KEYS.AGENT_API_KEY}` };
export const ingestAuth = { Authorization: `Bearer ${TEST_KEYS.LOKI_WEBHOOK_SECRET}` };

export type TestDbKind = 'pglite' | 'postgres';

/** Which database this test file runs on (set by the Jest project). */
export function testDbKind(): TestDbKind {
  const kind = process.env.FIXLOOP_TEST_DB;
  if (kind !== 'pglite' && kind !== 'postgres') throw new Error('FIXLOOP_TEST_DB is not set: run through `npm test`');
  return kind;
}

/** The environment of a test app on this project's database; workers off (tests drive jobs). */
export function testEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const db =
    testDbKind() === 'postgres' ? { DATABASE_URL: requiredEnv(RUN_DATABASE_ENV) } : { DATA_DIR: IN_MEMORY_DATA_DIR };
  return {
    ...TEST_KEYS,
    ...db,
    LOG_LEVEL: 'error',
    WORKERS_ENABLED: 'false',
    ...overrides,
  };
}

function requiredEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: the postgres test project's global setup did not run`);
  return v;
}

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  config: AppConfig;
  dataSource: DataSource;
  close(): Promise<void>;
}

/**
 * Changes settings of a running test app (services read `APP_CONFIG` on every call, so a change
 * applies to the next request); returns the function that puts the previous values back.
 */
export function overrideConfig(t: TestApp, overrides: Partial<AppConfig>): () => void {
  const config = t.config as unknown as Record<string, unknown>;
  const before = Object.fromEntries(Object.keys(overrides).map((k) => [k, config[k]]));
  Object.assign(config, overrides);
  return () => Object.assign(config, before);
}

export interface StartOptions {
  /** Keep rows from earlier tests (a second replica on the same server database). */
  keepData?: boolean;
  /** Where the app logs (a JsonLogger on a stream the test reads); by default nowhere. */
  logger?: false | JsonLogger;
}

/** Starts the real app, in process, on a real database (PGlite or the server), ready for supertest. */
export async function startTestApp(
  overrides: Record<string, string | undefined> = {},
  options: StartOptions = {},
): Promise<TestApp> {
  const config = loadConfig(testEnv(overrides));
  const app = await createApp(config, { logger: options.logger ?? false });
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const dataSource = app.get(DataSource);
  if (!options.keepData && config.databaseKind === 'postgres') await truncateAll(dataSource);
  return {
    app,
    http: request(app.getHttpServer()),
    config,
    dataSource,
    close: () => app.close(),
  };
}

/** A test app's environment overrides, or a function giving them when the app starts. */
export type TestEnvSource = Record<string, string | undefined> | (() => Record<string, string | undefined>);

export interface UseTestAppOptions extends StartOptions {
  /** Empty every table before each test of the block (`truncateAll`). */
  truncateEachTest?: boolean;
}

/**
 * The app of a `describe` block: started before its first test, closed after its last and, with
 * `truncateEachTest`, emptied before each test. `env` may be a function, called at start (for the
 * URL of a fake server started in a `beforeAll` declared before this call). The handle's fields are
 * set once the app has started: read them in tests, or in hooks declared after this call (Jest runs
 * a block's hooks in declaration order, its `afterAll`s included: one declared after this call runs
 * once the app is closed).
 */
export function useTestApp(env: TestEnvSource = {}, options: UseTestAppOptions = {}): TestApp {
  const t = {} as TestApp;
  let started: TestApp | undefined;
  beforeAll(async () => {
    started = await startTestApp(typeof env === 'function' ? env() : env, options);
    Object.assign(t, started);
  });
  afterAll(async () => {
    await started?.close();
  });
  if (options.truncateEachTest) beforeEach(() => truncateAll(t.dataSource));
  return t;
}

/** Empties every table but the migrations' own, so each test file starts clean on the shared server DB. */
export async function truncateAll(ds: DataSource): Promise<void> {
  const rows = (await ds.query(
    `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'`,
  )) as { tablename: string }[];
  if (rows.length === 0) return;
  const sql = `TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`;
  // A listener of the previous test may still be finishing its transaction (events are published
  // without waiting): TRUNCATE's exclusive locks can then deadlock with it. The server picks one
  // victim; when it is this statement, run it again.
  for (let attempt = 1; ; attempt++) {
    try {
      await ds.query(sql);
      return;
    } catch (err) {
      const code =
        (err as { driverError?: { code?: string }; code?: string }).driverError?.code ??
        (err as { code?: string }).code;
      if (code !== '40P01' || attempt >= 5) throw err;
    }
  }
}
