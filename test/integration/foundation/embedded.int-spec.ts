import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/shared/config/config.loader';
import { DataDirLockedError } from '../../../src/shared/database/data-dir-lock';
import { closeDataSource, createDataSource, runMigrations } from '../../../src/shared/database/database-opener';
import { seedIssue } from '../../factories/issue.factory';
import { testDbKind } from '../../support/test-app';

/**
 * The embedded database under DATA_DIR: created on first start, reopened on the next, refused to a
 * second process. These run in both projects; on the server project they still use PGlite, since
 * they are about the embedded mode itself.
 */
describe(`embedded PGlite data folder (${testDbKind()} project)`, () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fixloop-data-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const embeddedConfig = () => loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'error' }); // no keys, no DATABASE_URL: keys are generated

  it('creates the database and keys on first start and reopens both on the next', async () => {
    const first = embeddedConfig();
    expect(first.databaseKind).toBe('pglite');
    expect(first.generatedKeysFile).toBe(path.join(dir, 'fixloop-keys.json'));
    expect(statSync(first.generatedKeysFile!).mode & 0o777).toBe(0o600);

    const ds = await createDataSource(first);
    await runMigrations(ds, 'pglite');
    const { identifier } = await seedIssue(ds, { title: 'survives a restart' });
    await closeDataSource(ds);

    const second = embeddedConfig();
    expect(second.ADMIN_API_KEY).toBe(first.ADMIN_API_KEY);
    const reopened = await createDataSource(second);
    try {
      expect(await runMigrations(reopened, 'pglite')).toEqual([]);
      const rows = (await reopened.query('SELECT title FROM issues WHERE identifier = $1', [identifier])) as {
        title: string;
      }[];
      expect(rows).toEqual([{ title: 'survives a restart' }]);
    } finally {
      await closeDataSource(reopened);
    }
  });

  it('refuses a second process on the same data folder with a clear message', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)']);
    try {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path.join(dir, 'fixloop.lock'), String(holder.pid));
      const attempt = createDataSource(embeddedConfig());
      await expect(attempt).rejects.toThrow(DataDirLockedError);
      await expect(attempt).rejects.toThrow(new RegExp(`in use by another fixloop process \\(pid ${holder.pid}\\)`));
    } finally {
      holder.kill();
    }
  });

  it('takes over a lock left by a process that is gone', async () => {
    const { writeFileSync } = await import('node:fs');
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(path.join(dir, 'fixloop.lock'), String(dead.pid));
    const ds = await createDataSource(embeddedConfig());
    await closeDataSource(ds);
  });
});
