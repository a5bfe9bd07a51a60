import { ConfigValidationError, validateEnvironment } from '../../shared/config/app-config';
import { closeDataSource, createDataSource, runMigrations } from '../../shared/database/database-opener';
import { CliCommand, parseOptions } from '../cli-command';

export const migrateCommand: CliCommand = {
  name: 'migrate',
  summary: 'Run pending database migrations and exit',
  usage: 'migrate',
  async run(args, io) {
    parseOptions(args);
    let env;
    try {
      env = validateEnvironment(process.env);
    } catch (err) {
      if (err instanceof ConfigValidationError) {
        io.stderr.write(`fixloop: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const kind = env.DATABASE_URL ? 'postgres' : 'pglite';
    const ds = await createDataSource({ ...env, databaseKind: kind });
    try {
      const ran = await runMigrations(ds, kind);
      io.stdout.write(ran.length ? `applied: ${ran.join(', ')}\n` : 'no pending migrations\n');
      return 0;
    } finally {
      await closeDataSource(ds);
    }
  },
};
